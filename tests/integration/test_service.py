"""The real scoring service (`bentoml serve` subprocess) over HTTP.

Uses a stand-in pyfunc with the leadscore interface (see ``stub_leadscore_model.py``) in a
throwaway SQLite MLflow store, so these tests exercise serving, not training.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from serving_support import (
    AUTH,
    RunningService,
    free_port,
    register_stub,
    run_service,
    start_process,
    stop,
    tracking_uri,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("serving")]

AS_OF = "2026-03-01T00:00:00Z"
EVENT = {"event_type": "pricing_page_view", "occurred_at": "2026-02-20T10:00:00Z"}


def _lead(lead_id: str, n_events: int = 2, industry: str | None = "software") -> dict:
    attributes = {} if industry is None else {"industry": industry}
    return {
        "lead_id": lead_id,
        "as_of": AS_OF,
        "attributes": attributes,
        "events": [EVENT] * n_events,
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serving-store")
    register_stub(path)
    return path


@pytest.fixture(scope="module")
def service(store: Path) -> Iterator[RunningService]:
    with run_service(store, {"LEADSCORE_MAX_BODY_BYTES": str(1024 * 1024)}) as running:
        yield running


def test_every_route_but_health_needs_a_valid_key(service: RunningService) -> None:
    url = service.url
    body = {"leads": [_lead("L1")]}
    assert httpx.post(f"{url}/score", json=body).status_code == 401
    bad = {"Authorization": "Bearer wrong-secret-zzz"}
    assert httpx.post(f"{url}/score", json=body, headers=bad).status_code == 401
    for path in ("/model", "/history/L1", "/docs.json", "/"):
        assert httpx.get(f"{url}{path}").status_code == 401, path
    assert httpx.get(f"{url}/livez").status_code == 200
    assert httpx.get(f"{url}/readyz").status_code == 200
    assert httpx.get(f"{url}/metrics").status_code == 200
    assert httpx.post(f"{url}/score", json=body, headers=AUTH).status_code == 200
    assert "test-key-0123456789" not in service.log()
    assert "wrong-secret-zzz" not in service.log()


def test_model_route_reports_version_metrics_and_thresholds(service: RunningService) -> None:
    info = httpx.get(f"{service.url}/model", headers=AUTH).json()
    assert info["version"] == "1"
    assert info["holdout_metrics"] == {"roc_auc": 0.81, "pr_auc": 0.42}
    assert info["thresholds"]["sales_ready"] == 0.5
    assert info["trained_at"].startswith("2026-01-01")


def test_scores_match_the_pyfunc_for_the_same_input(service: RunningService, store: Path) -> None:
    import mlflow

    from models.registry import client_for
    from models.schema import LeadIn

    leads = [_lead("L1", 0), _lead("L2", 3), _lead("L3", 6, industry="retail")]
    response = httpx.post(f"{service.url}/score", json={"leads": leads, "explain": 2}, headers=AUTH)
    assert response.status_code == 200, response.text
    served = response.json()
    uri = client_for(tracking_uri(store)).get_model_version_download_uri("leadscore", "1")
    pyfunc = mlflow.pyfunc.load_model(uri)
    expected = pyfunc.unwrap_python_model().score_leads(
        [LeadIn.model_validate(lead) for lead in leads], 2
    )
    assert served["model_version"] == "1"
    assert [s["lead_id"] for s in served["scores"]] == ["L1", "L2", "L3"]
    for got, want in zip(served["scores"], expected, strict=True):
        assert got["probability"] == pytest.approx(want.probability, abs=1e-12)
        assert (got["score"], got["tier"], got["sales_ready"]) == (
            want.score,
            want.tier,
            want.sales_ready,
        )
        assert got["fit"] == want.fit and got["engagement"] == want.engagement
        assert [r["sentence"] for r in got["reasons"]] == [r.sentence for r in want.reasons]
        assert got["model_version"] == "1"
        assert datetime.fromisoformat(got["as_of"]) == datetime(2026, 3, 1, tzinfo=UTC)


def test_unknown_categories_and_missing_attributes_are_scored(service: RunningService) -> None:
    leads = [_lead("U1", 1, industry="never-seen-industry"), _lead("U2", 1, industry=None)]
    response = httpx.post(f"{service.url}/score", json={"leads": leads}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert [s["lead_id"] for s in response.json()["scores"]] == ["U1", "U2"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"leads": []}, 422, "leads:"),
        ({"leads": [{"lead_id": str(i)} for i in range(1001)]}, 422, "leads:"),
        ({"leads": [_lead("a"), {**_lead("b"), "as_of": "tomorrow"}]}, 422, "leads[1].as_of:"),
        (
            {"leads": [{**_lead("a"), "events": [EVENT, {**EVENT, "occurred_at": "2026-02-01"}]}]},
            422,
            "leads[0].events[1].occurred_at:",
        ),
        ({"leads": [{**_lead("a"), "events": [EVENT] * 5001}]}, 422, "leads[0].events:"),
        ({"leads": [_lead("a")], "explain": 99}, 422, "explain:"),
        ({"leads": [{"lead_id": "a", "surprise": 1}]}, 422, "leads[0].surprise:"),
    ],
)
def test_bad_input_gets_4xx_naming_the_field(
    service: RunningService, body: dict, status: int, field: str
) -> None:
    response = httpx.post(f"{service.url}/score", json=body, headers=AUTH, timeout=30)
    assert response.status_code == status, response.text
    assert any(line.startswith(field) for line in response.json()["detail"]), response.text


def test_oversized_body_gets_413(service: RunningService) -> None:
    padding = "x" * (1024 * 1024)
    body = {"leads": [{"lead_id": "a", "attributes": {"notes": padding}}]}
    response = httpx.post(f"{service.url}/score", json=body, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["detail"][0].startswith("body:")


def test_malformed_json_is_a_4xx(service: RunningService) -> None:
    response = httpx.post(
        f"{service.url}/score",
        content=b'{"leads": [',
        headers={**AUTH, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0].startswith("body:")


def test_served_scores_are_logged_in_the_lead_store_outputs_only(
    service: RunningService, store: Path
) -> None:
    leads = [_lead("LOG-1", 1), _lead("LOG-2", 4)]
    assert httpx.post(f"{service.url}/score", json={"leads": leads}, headers=AUTH).is_success
    # The service writes the log from a background thread: the rows land within moments.
    database = store / "data" / "leadscore-store.sqlite"
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(database) as conn:
            columns = [row[1] for row in conn.execute("PRAGMA table_info(score_history)")]
            rows = conn.execute(
                "SELECT lead_id, as_of, model_version, tier, cause FROM score_history "
                "WHERE lead_id LIKE 'LOG-%' ORDER BY id"
            ).fetchall()
        if len(rows) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert columns == [
        "id",
        "lead_id",
        "as_of",
        "scored_at",
        "model_version",
        "probability",
        "score",
        "tier",
        "cause",
        "explanation",  # reason-group keys and numbers (NULL for the stand-in model)
    ]  # fmt: skip  (no attributes, events or worded reasons)
    as_of = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()) * 1_000_000
    assert rows == [
        ("LOG-1", as_of, "1", "C", "request"),
        ("LOG-2", as_of, "1", rows[1][3], "request"),
    ]
    history = httpx.get(f"{service.url}/history/LOG-2", headers=AUTH).json()
    assert history["scores"][0]["model_version"] == "1"
    assert history["scores"][0]["as_of"] == "2026-03-01T00:00:00+00:00"


def test_start_fails_clearly_without_a_champion(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    process = start_process(tmp_path, port, log_path)
    try:
        # Generous: under a loaded suite, each worker process's start-up import takes a while.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and "ModelUnavailableError" not in log_path.read_text():
            time.sleep(0.5)
        log = log_path.read_text()
        assert "no model to serve: no MLflow store exists at" in log
        # Every worker failed for that reason alone: none created (and so raced to migrate)
        # an MLflow store.
        assert "alembic" not in log and "OperationalError" not in log
        assert not (tmp_path / "mlflow.db").exists()
        try:
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code
        except httpx.HTTPError:
            ready = None
        assert ready != 200
    finally:
        stop(process)


def test_hot_reload_under_concurrent_requests(tmp_path: Path) -> None:
    register_stub(tmp_path)
    with run_service(tmp_path) as running:
        seen: list[str] = []
        failures: list[str] = []
        stop_event = threading.Event()

        def client() -> None:
            with httpx.Client(base_url=running.url, headers=AUTH, timeout=30) as http:
                while not stop_event.is_set():
                    response = http.post("/score", json={"leads": [_lead("R1")]})
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                        continue
                    body = response.json()
                    seen.append(body["model_version"])
                    assert {s["model_version"] for s in body["scores"]} == {body["model_version"]}

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        new_version = register_stub(tmp_path)  # moves the champion alias to v2
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not seen or seen[-1] != new_version):
            time.sleep(0.2)
        time.sleep(1.0)
        stop_event.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert set(seen) == {"1", new_version}
    first_new = seen.index(new_version)
    assert "1" in seen[:first_new]
