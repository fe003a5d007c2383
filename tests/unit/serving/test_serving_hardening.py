"""Hardening of the service's pieces: metric labels, client-error logs, registry state, the
score log's backlog and close."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
from bentoml.exceptions import InvalidArgument
from pydantic import ValidationError

from serving.error_logs import BENTOML_API_LOGGER, ClientErrorFilter
from serving.model_handle import ServedModel
from serving.reload import AliasWatcher
from serving.route_metrics import BENTOML_PATHS, UNMATCHED, RouteLabels
from serving.schemas import ScoreRequest
from serving.score_log import BackgroundScoreLog
from serving.web import web_routes

PERSONAL = ("jane.doe@example.com", "+1-555-0142")


def _scope(path: str, method: str = "GET") -> dict:
    return {"type": "http", "path": path, "method": method, "root_path": ""}


def test_metric_labels_are_route_templates_or_one_unmatched_label() -> None:
    labels = RouteLabels({*BENTOML_PATHS, "/score"}, web_routes())
    assert labels(_scope("/score", "POST")) == "/score"
    assert labels(_scope("/metrics")) == "/metrics"
    assert labels(_scope("/history/jane.doe@example.com")) == "/history/{lead_id}"
    assert labels(_scope("/leads/jane.doe@example.com", "DELETE")) == "/leads/{lead_id}"
    assert labels(_scope("/v1/batch", "POST")) == "/v1/batch"
    assert labels(_scope("/wp-admin/setup.php")) == UNMATCHED
    assert labels(_scope("/leads/a/b")) == UNMATCHED


def _record(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        return logging.getLogger(BENTOML_API_LOGGER).makeRecord(
            BENTOML_API_LOGGER, logging.ERROR, __file__, 1, "Exception on %s [%s]",
            ("/score", "POST"), sys.exc_info(),
        )  # fmt: skip


def _formatted(record: logging.LogRecord) -> str:
    assert ClientErrorFilter().filter(record)
    return logging.Formatter("%(levelname)s %(message)s").format(record)


def test_client_errors_become_one_warning_line_without_input_values() -> None:
    body = json.dumps({"leads": [{"lead_id": PERSONAL[0], "as_of": PERSONAL[1]}]})
    with pytest.raises(ValidationError) as caught:
        ScoreRequest.model_validate_json(body)
    assert PERSONAL[1] in str(caught.value)  # pydantic's own text echoes the input
    text = _formatted(_record(caught.value))
    assert text == "WARNING client error 400: POST /score 1 invalid field(s): leads[0].as_of"
    text = _formatted(_record(InvalidArgument(f"leads[0].attributes.x: {PERSONAL[0]}")))
    assert text == "WARNING client error 400: POST /score InvalidArgument"


def test_server_errors_keep_their_traceback_without_pydantic_input_values() -> None:
    with pytest.raises(ValidationError) as caught:
        ScoreRequest.model_validate_json(
            json.dumps({"leads": [{"lead_id": 1, "as_of": PERSONAL[0]}]})
        )
    wrapped = RuntimeError("a bug")
    wrapped.__cause__ = caught.value
    try:
        raise wrapped
    except RuntimeError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info()
        )
    text = _formatted(record)
    assert text.startswith("ERROR boom") and "Traceback" in text and "a bug" in text
    assert PERSONAL[0] not in text and "input_value=<hidden>" in text


def _model(version: str) -> ServedModel:
    return ServedModel("leadscore", "champion", version, object(), None, {}, {}, datetime.now(UTC))  # type: ignore[arg-type]


def test_a_failing_registry_keeps_the_model_and_is_logged_once_per_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = {"fail": False, "version": "1"}

    def resolve() -> str:
        if state["fail"]:
            raise OSError("file is not a database\nmore detail")
        return str(state["version"])

    watcher = AliasWatcher(resolve, _model, interval=60)
    assert watcher.registry_state().reachable
    state["fail"] = True
    with caplog.at_level(logging.INFO, logger="serving.reload"):
        for _ in range(5):
            watcher.poll()
        failed = watcher.registry_state()
        assert not failed.reachable and failed.last_error == "OSError: file is not a database"
        assert watcher.current().version == "1"
        state.update(fail=False, version="2")
        watcher.poll()
        watcher.poll()
    assert watcher.current().version == "2" and watcher.registry_state().reachable
    assert watcher.registry_state().since >= failed.since
    lines = [r.getMessage() for r in caplog.records]
    assert len([m for m in lines if "check failed" in m]) == 1, lines
    assert len([m for m in lines if "reachable again" in m]) == 1, lines
    assert all("Traceback" not in m for m in lines)


class _LockedStore:
    """A store whose writes fail until ``unlock``; counts what was written."""

    def __init__(self) -> None:
        self.locked = threading.Event()
        self.locked.set()
        self.written = 0

    def write_scores(self, stored: list, served: list) -> None:
        if self.locked.is_set():
            raise RuntimeError("database is locked")
        self.written += len(stored) + len(served)

    def history(self, lead_id: str, limit: int) -> list:
        return []


def _score(lead_id: str):  # type: ignore[no-untyped-def]
    from models.schema import ScoreOut

    return ScoreOut(
        lead_id=lead_id, as_of=datetime.now(UTC), probability=0.5, score=50, tier="B",
        sales_ready=False, fit=1.0, engagement=1.0, reasons=[], model_version="1",
    )  # fmt: skip


def test_score_log_keeps_scores_while_locked_reports_backlog_and_never_blocks_reads() -> None:
    store = _LockedStore()
    seen: list[int] = []
    log = BackgroundScoreLog(store, interval=0.01, on_backlog=seen.append)  # type: ignore[arg-type]
    try:
        log.append([_score(f"l{i}") for i in range(3)])
        log.append([_score("l3")])
        start = time.perf_counter()
        assert log.history("l1", wait=0.2) == []  # answers while the store stays locked
        assert time.perf_counter() - start < 1.0
        assert log.pending() == 4 and store.written == 0
        time.sleep(0.1)
        assert seen and seen[-1] == 4
        store.locked.clear()
        assert log.flush(timeout=10)
        deadline = time.monotonic() + 10
        while store.written < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.written == 4 and log.pending() == 0
        time.sleep(0.1)
        assert seen[-1] == 0
    finally:
        log.close()


def test_close_retries_until_written_within_its_deadline() -> None:
    store = _LockedStore()
    log = BackgroundScoreLog(store, interval=0.01)  # type: ignore[arg-type]
    log.append([_score("a"), _score("b")])
    threading.Timer(0.5, store.locked.clear).start()
    log.close(deadline_seconds=10)
    assert store.written == 2 and log.pending() == 0
