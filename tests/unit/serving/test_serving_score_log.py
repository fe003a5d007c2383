"""What was served goes to the lead store from a background thread: requests never wait for
the database, nothing served is lost (rows that cannot be written are kept and retried), and
this process reads its own writes; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, inspect, select

from models.schema import Reason, ScoreDetail, ScoreOut
from serving.score_log import BackgroundScoreLog
from serving.store_scoring import stored_score
from store.lead_store import LeadStore
from store.records import IngestBatch, LeadUpdate, to_micros
from store.tables import score_history

STAMP = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _score(lead_id: str, probability: float, version: str = "3") -> ScoreOut:
    return ScoreOut(
        lead_id=lead_id,
        as_of=datetime(2026, 3, 1, tzinfo=UTC),
        probability=probability,
        score=max(1, min(99, round(probability * 100))),
        tier="A" if probability > 0.8 else "C",
        sales_ready=probability > 0.8,
        fit=50.0,
        engagement=20.0,
        reasons=[Reason(feature="f", label="F", value=1, impact=0.5, direction="up", sentence="s")],
        model_version=version,
    )


def _rows(store: LeadStore) -> int:
    with store.db.read() as connection:
        return int(connection.execute(select(func.count()).select_from(score_history)).scalar_one())


def test_served_scores_land_in_the_history_with_outputs_only(lead_store: LeadStore) -> None:
    log = BackgroundScoreLog(lead_store)

    def worker(i: int) -> None:
        for j in range(25):
            log.append([_score(f"L{i}-{j}", 0.5)] * 2, scored_at=STAMP)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    history = log.history("L3-24")  # flushes first: this process reads its own writes
    assert [(h["scored_at"], h["model_version"], h["cause"]) for h in history] == [
        (to_micros(STAMP), "3", "request")
    ] * 2
    log.append([_score("last", 0.9)])
    log.close()  # writes what is still pending
    assert _rows(lead_store) == 201
    with lead_store.db.read() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("score_history")}
    assert columns == {
        "id",
        "lead_id",
        "as_of",
        "scored_at",
        "model_version",
        "probability",
        "score",
        "tier",
        "cause",
        "explanation",
    }  # fmt: skip  (no attributes, events or worded reasons: outputs only)


def test_a_request_never_waits_for_the_database_and_nothing_is_dropped(
    lead_store: LeadStore, caplog
) -> None:
    log = BackgroundScoreLog(lead_store, interval=0.02)
    real_write = lead_store.write_scores
    down = threading.Event()
    down.set()

    def flaky(stored, served):
        if down.is_set():
            raise ConnectionError("the database is down")
        return real_write(stored, served)

    lead_store.write_scores = flaky  # type: ignore[method-assign]
    started = time.perf_counter()
    for i in range(50):
        assert log.append([_score(f"D{i}", 0.3)]) == 1
    assert time.perf_counter() - started < 0.5  # handed over, not written
    log.flush()
    assert _rows(lead_store) == 0 and log.pending() == 50  # kept, not dropped
    assert "the store refused a write (ConnectionError); 50 scores kept, retrying" in caplog.text
    assert "database is down" not in caplog.text  # a database error's text may carry values
    down.clear()  # the database is back: the pending rows go in, once
    deadline = time.monotonic() + 15
    while log.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    log.close()
    assert _rows(lead_store) == 50
    # The failure and the recovery are logged once each, not once per retry.
    assert caplog.text.count("refused a write") == 1
    assert caplog.text.count("writing again") == 1


def test_a_stored_leads_new_score_becomes_current_through_the_log(lead_store: LeadStore) -> None:
    lead_store.ingest(IngestBatch(leads=[LeadUpdate("S1", to_micros(STAMP), "b")]))
    revision = lead_store.lead_view("S1")["revision"]
    log = BackgroundScoreLog(lead_store, interval=0.05)
    score = stored_score(_score("S1", 0.85), to_micros(STAMP), revision=revision, cause="change")
    log.record([score])
    log.record([score])  # a second read computed the same score before the first landed
    log.flush()
    view = lead_store.lead_view("S1")
    assert view["score"]["probability"] == 0.85 and view["score"]["reasons"][0]["sentence"] == "s"
    assert [h["cause"] for h in view["history"]] == ["change"]  # stored once
    log.close()
    log.flush()  # after close: returns at once


def _explained(lead_id: str, impacts: dict[str, float], events: int, day: int = 1) -> ScoreOut:
    score = _score(lead_id, 0.3).model_copy(
        update={"base_probability": 0.02, "as_of": datetime(2026, 3, day, tzinfo=UTC)}
    )
    detail = ScoreDetail(impacts=impacts, slope=8.0, events=events, values={"industry": "x"})
    score.attach_detail(detail)
    return score


def test_latest_explanations_are_the_newest_stored_with_points(lead_store: LeadStore) -> None:
    log = BackgroundScoreLog(lead_store, interval=0.02)
    try:
        log.append([_explained("L1", {"demo_request": 1.0}, 3), _explained("L2", {"a": 2.0}, 1)])
        log.append([_explained("L1", {"demo_request": 6.0}, 4, day=5)])
        log.append([_score("L1", 0.4)])  # a later row without an explanation does not hide it
        log.flush()
        found = log.latest_explanations(["L1", "L2", "L3", "L1"])
    finally:
        log.close()
    assert set(found) == {"L1", "L2"}
    assert found["L1"].impacts == {"demo_request": 6.0} and found["L1"].events == 4
    assert found["L1"].points("demo_request") == 48.0
    assert found["L1"].as_of == datetime(2026, 3, 5, tzinfo=UTC)
    with lead_store.db.read() as connection:
        texts = connection.execute(
            select(score_history.c.explanation).where(score_history.c.explanation.is_not(None))
        ).scalars()
        # Group keys and numbers: the lead's attribute values never reach the history.
        assert all('"x"' not in text and "industry" not in text for text in texts)


def test_the_log_sees_its_own_scores_before_they_are_written(lead_store: LeadStore) -> None:
    log = BackgroundScoreLog(lead_store, interval=60.0)
    try:
        log.append([_explained("P1", {"a": 1.0}, 2)])
        assert lead_store.latest_explanations(["P1"]) == {}  # not written yet
        assert log.latest_explanations(["P1"])["P1"].impacts == {"a": 1.0}
        # A stored lead's score on its way (GET /leads/{id}) counts too, and is newer.
        lead_store.ingest(IngestBatch(leads=[LeadUpdate("P1", to_micros(STAMP), "b")]))
        revision = lead_store.lead_view("P1")["revision"]
        newer = _explained("P1", {"a": 3.0}, 5, day=2)
        log.record([stored_score(newer, to_micros(STAMP), revision=revision, cause="change")])
        assert log.latest_explanations(["P1"])["P1"].impacts == {"a": 3.0}
    finally:
        log.close()
    assert lead_store.latest_explanations(["P1"])["P1"].startswith('{"format":1')
