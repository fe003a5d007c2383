"""The live lead store through a real `bentoml serve` (two workers), on SQLite and on a real
PostgreSQL server: Segment's own Python SDK sends identify/group/track, native bulk routes,
scoped keys, reads that are never older than the lead's last change, erasure, a champion
change rescoring every lead while reads keep answering, and a kill -9 during ingestion.

Uses the stand-in model (``stub_leadscore_model.py``: probability from the number of events
and the industry), so the tests exercise the store and the service, not training.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest
from serving_support import (
    API_KEY,
    AUTH,
    RunningService,
    free_port,
    register_stub,
    start_process,
    stop,
    wait_ready,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("serving")]

INGEST, READ, ADMIN = "ingest-key-0123456789", "read-key-0123456789", "admin-key-0123456789"
KEYS = f"{API_KEY},{INGEST}:ingest,{READ}:read,{ADMIN}:admin"
T = "2026-02-{:02d}T10:00:00Z"


@dataclass
class StoreService(RunningService):
    """A running service and what it takes to start it again on the same store."""

    folder: Path = Path()
    env: dict[str, str] = field(default_factory=dict)


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[StoreService]:
    folder = tmp_path_factory.mktemp(f"store-service-{request.param}")
    register_stub(folder)
    env = {"LEADSCORE_API_KEYS": KEYS, "LEADSCORE_RESCORE_SECONDS": "0.1"}
    if request.param == "postgresql":
        env["LEADSCORE_STORE_URL"] = request.getfixturevalue("postgres_server").create_database()
    port = free_port()
    process = start_process(folder, port, folder / "serve.log", env)
    running = StoreService(f"http://127.0.0.1:{port}", process, folder / "serve.log", folder, env)
    try:
        wait_ready(running, 180)
        yield running
    finally:
        stop(running.process)


def _lead(service: StoreService, lead_id: str, **params: int) -> httpx.Response:
    return httpx.get(
        f"{service.url}/leads/{lead_id}", headers=_headers(READ), params=params, timeout=30
    )


def test_segment_sdk_identify_group_track_land_in_the_store(service: StoreService) -> None:
    from segment.analytics.client import Client

    errors: list[Exception] = []
    for gzip in (False, True):
        client = Client(
            INGEST, host=service.url, gzip=gzip, on_error=lambda e, _: errors.append(e),
            max_retries=2, upload_interval=0.05,
        )  # fmt: skip
        user = f"seg-{int(gzip)}"
        client.identify(
            user, {"industry": "software", "email": "a@example.com", "createdAt": T.format(1)}
        )
        client.group(user, "acme-corp", {"name": "Acme"})
        client.track(user, "Pricing Page View", {"campaign": "spring"}, timestamp=None)
        # A CDP redelivering a message: the same messageId twice is one event.
        client.track(user, "Demo Requested", message_id=f"dup-{user}")
        client.track(user, "Demo Requested", message_id=f"dup-{user}")
        client.page(user, name="Pricing")  # acknowledged, not an event
        client.flush()
        client.join()
        assert errors == []
        body = _lead(service, user).json()
        assert body["attributes"] == {"industry": "software"}  # the email was not stored
        assert body["account_id"] == "acme-corp"
        assert body["created_at"].startswith("2026-02-01")
        assert sorted(e["event_type"] for e in body["events"]) == [
            "demo_requested", "pricing_page_view",
        ]  # fmt: skip
        assert body["score"]["model_version"] == "1"
        assert body["score"]["engagement"] == 20.0  # the stub: 10 per event, 2 events
    # A write key without the ingest scope: the SDK is refused and reports it.
    refused: list[Exception] = []
    client = Client(READ, host=service.url, on_error=lambda e, _: refused.append(e), max_retries=0)
    client.track("seg-refused", "Web Visit")
    client.flush()
    client.join()
    assert [getattr(e, "status", None) for e in refused] == [403]
    assert _lead(service, "seg-refused").status_code == 404


def test_native_routes_store_whole_batches_and_name_bad_fields(service: StoreService) -> None:
    url, ingest = service.url, _headers(INGEST)
    leads = {"leads": [{"lead_id": "N1", "created_at": T.format(2), "account_id": "acc-n",
                        "attributes": {"industry": "retail", "phone": "555-0100"}}]}  # fmt: skip
    answer = httpx.post(f"{url}/leads", json=leads, headers=ingest).json()
    assert answer["ignored_attributes"] == ["phone"]
    events = {"events": [{"id": f"n-{i}", "lead_id": "N1", "event_type": "Web Visit",
                          "occurred_at": T.format(3 + i)} for i in range(3)]}  # fmt: skip
    assert (
        httpx.post(f"{url}/events", json=events, headers=ingest).json()["stored"]["events_stored"]
        == 3
    )
    again = httpx.post(f"{url}/events", json=events, headers=ingest).json()["stored"]
    assert (again["events_stored"], again["events_duplicate"]) == (0, 3)
    deals = {"deals": [{"deal_id": "opp-n1", "lead_id": "N1", "opened_at": T.format(6)}]}
    assert httpx.post(f"{url}/deals", json=deals, headers=ingest).status_code == 200
    bad = {"batch": [{"type": "track", "userId": "N2", "event": "Web Visit"},
                     {"type": "track", "userId": "N2", "event": "x", "timestamp": "2026-02-01"}]}  # fmt: skip
    response = httpx.post(f"{url}/v1/batch", json=bad, headers=ingest)
    assert response.status_code == 422
    assert response.json()["detail"][0].startswith("batch[1].timestamp:")
    assert response.json()["code"]  # what Segment's SDKs read from a refused upload
    assert _lead(service, "N2").status_code == 404  # the valid first message was not stored
    body = _lead(service, "N1").json()
    assert body["events_total"] == 3 and body["deals"][0]["deal_id"] == "opp-n1"


def test_keys_have_scopes(service: StoreService) -> None:
    url = service.url
    event = {"events": [{"lead_id": "S1", "event_type": "web_visit", "occurred_at": T.format(1)}]}
    assert httpx.post(f"{url}/events", json=event).status_code == 401
    assert httpx.post(f"{url}/events", json=event, headers=_headers(READ)).status_code == 403
    assert httpx.post(f"{url}/events", json=event, headers=_headers(INGEST)).status_code == 200
    refused = httpx.get(f"{url}/leads/S1", headers=_headers(INGEST))
    assert refused.status_code == 403 and "'read' scope" in refused.json()["detail"][0]
    assert (
        httpx.post(
            f"{url}/score", json={"leads": [{"lead_id": "x"}]}, headers=_headers(INGEST)
        ).status_code
        == 403
    )
    assert httpx.get(f"{url}/stats", headers=_headers(READ)).status_code == 200
    assert httpx.delete(f"{url}/leads/S1", headers=_headers(READ)).status_code == 403
    # HTTP Basic with the key as user name, and the SDKs' writeKey body field.
    basic = httpx.post(f"{url}/events", json=event, auth=(INGEST, ""))
    assert basic.status_code == 200
    in_body = {"writeKey": INGEST, "batch": [{"type": "track", "userId": "S1", "event": "x"}]}
    assert httpx.post(f"{url}/v1/batch", json=in_body).status_code == 200
    assert httpx.post(f"{url}/v1/batch", json={**in_body, "writeKey": "nope"}).status_code == 401
    # A key given without scopes keeps every one (set-ups from before scopes still work).
    assert _lead(service, "S1").status_code == 200
    assert httpx.get(f"{url}/leads/S1", headers=AUTH).status_code == 200
    assert httpx.delete(f"{url}/leads/S1", headers=AUTH).status_code == 200


def test_a_read_is_never_older_than_the_leads_last_change(service: StoreService) -> None:
    url, ingest = service.url, _headers(INGEST)
    lead = {"lead_id": "F1", "attributes": {"industry": "software"}, "created_at": T.format(1)}
    httpx.post(f"{url}/leads", json={"leads": [lead]}, headers=ingest).raise_for_status()
    for day in range(2, 6):
        event = {"lead_id": "F1", "event_type": "web_visit", "occurred_at": T.format(day)}
        httpx.post(f"{url}/events", json={"events": [event]}, headers=ingest).raise_for_status()
        stored = _lead(service, "F1").json()  # at once, before any background rescoring
        assert stored["score"]["engagement"] == 10.0 * (day - 1)
    # The same lead sent whole to POST /score gets the same answer.
    whole = {
        **lead, "as_of": stored["score"]["as_of"],
        "events": [{"event_type": e["event_type"], "occurred_at": e["occurred_at"]} for e in stored["events"]],
    }  # fmt: skip
    scored = httpx.post(f"{url}/score", json={"leads": [whole]}, headers=AUTH).json()["scores"][0]
    for name in ("probability", "score", "tier", "sales_ready", "fit", "engagement", "reasons"):
        assert scored[name] == stored["score"][name], name

    # Two workers: the POST may have gone to the other one, whose score log writes within
    # its interval (a history read flushes only its own worker's pending rows).
    def read_history() -> list[dict]:
        return httpx.get(f"{url}/history/F1", headers=_headers(READ)).json()["scores"]

    deadline = time.monotonic() + 30
    while not any(h["cause"] == "request" for h in read_history()) and time.monotonic() < deadline:
        time.sleep(0.1)
    history = read_history()
    assert history[0]["cause"] == "request"  # the POST /score above
    assert {h["cause"] for h in history[1:]} == {"change"}


def test_erasure_removes_the_lead_and_says_what_went(service: StoreService) -> None:
    url = service.url
    events = {"events": [{"lead_id": "erase-me-7731", "event_type": "web_visit", "occurred_at": T.format(d)}
                         for d in (1, 2)]}  # fmt: skip
    httpx.post(f"{url}/events", json=events, headers=_headers(INGEST)).raise_for_status()
    assert _lead(service, "erase-me-7731").status_code == 200  # scored: a current score and history
    erased = httpx.delete(f"{url}/leads/erase-me-7731", headers=_headers(ADMIN)).json()
    assert erased["removed"]["leads"] == 1 and erased["removed"]["events"] == 2
    assert erased["removed"]["current_scores"] == 1 and erased["removed"]["score_history"] >= 1
    assert _lead(service, "erase-me-7731").status_code == 404
    assert httpx.get(f"{url}/history/erase-me-7731", headers=_headers(READ)).json()["scores"] == []
    assert "erase-me-7731" not in service.log()  # no lead id in any log line


def test_stats_count_what_the_store_holds(service: StoreService) -> None:
    event = {
        "events": [{"lead_id": "U1", "event_type": "Chat Started", "occurred_at": T.format(1)}]
    }
    httpx.post(f"{service.url}/events", json=event, headers=_headers(INGEST)).raise_for_status()
    stats = httpx.get(f"{service.url}/stats", headers=_headers(READ)).json()
    assert stats["unknown_event_types"]["chat_started"] == 1
    assert "pricing_page_view" not in stats["unknown_event_types"]
    assert stats["event_types"]["pricing_page_view"] >= 2
    assert stats["leads"] >= 4 and stats["model_version"] == "1"


def test_a_champion_change_rescores_every_lead_while_reads_keep_answering(
    service: StoreService,
) -> None:
    stored = ["seg-0", "seg-1", "N1", "F1"]
    failures: list[int] = []
    seen: set[str] = set()
    done = threading.Event()

    def reader() -> None:
        with httpx.Client(base_url=service.url, headers=_headers(READ), timeout=30) as http:
            while not done.is_set():
                for lead_id in stored:
                    response = http.get(f"/leads/{lead_id}")
                    if response.status_code != 200:
                        failures.append(response.status_code)
                    else:
                        seen.add(response.json()["score"]["model_version"])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        version = register_stub(service.folder)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answers = [_lead(service, i) for i in stored]
            assert [(a.status_code, a.text) for a in answers if a.status_code != 200] == []
            versions = {answer.json()["score"]["model_version"] for answer in answers}
            if versions == {version}:
                break
            time.sleep(0.2)
        stats = httpx.get(f"{service.url}/stats", headers=_headers(READ)).json()
    finally:
        done.set()
        thread.join()
    assert versions == {version}
    assert set(stats["scores_by_model_version"]) == {version}
    assert failures == [] and {"1", version} <= seen


def test_kill_9_during_ingestion_loses_nothing_and_stores_nothing_twice(
    service: StoreService,
) -> None:
    """Clients retry what was not acknowledged (as CDPs do); the service dies by SIGKILL in the
    middle and is started again: every message ends up stored exactly once."""
    target = {"url": service.url}
    batches, per_batch, clients = 100, 40, 2
    unacknowledged: list[int] = []
    acknowledged: list[int] = []

    def send(worker: int) -> None:
        for n in range(batches):
            body = {"batch": [{"type": "track", "userId": f"K{i % 7}", "event": "Web Visit",
                               "messageId": f"kill-{worker}-{n}-{i}", "timestamp": T.format(1 + i % 20)}
                              for i in range(per_batch)]}  # fmt: skip
            while True:
                try:
                    answer = httpx.post(
                        f"{target['url']}/v1/batch", json=body, auth=(INGEST, ""), timeout=10
                    )
                    if answer.status_code == 200:
                        acknowledged.append(n)
                        break
                except httpx.HTTPError:
                    pass
                unacknowledged.append(n)  # sent again: it may or may not have been stored
                time.sleep(0.3)

    threads = [threading.Thread(target=send, args=(w,)) for w in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)  # some batches in: the kill comes in the middle of the stream
    # The server and its workers, all at once, no shutdown (the workers run in sessions of
    # their own: killing the server's process group alone leaves them serving).
    tree = psutil.Process(service.process.pid)
    for process in [*tree.children(recursive=True), tree]:
        os.kill(process.pid, signal.SIGKILL)
    service.process.wait(timeout=30)
    port = free_port()
    folder = service.folder
    process = start_process(folder, port, folder / "restart.log", service.env)
    restarted = RunningService(f"http://127.0.0.1:{port}", process, folder / "restart.log")
    try:
        wait_ready(restarted, 180)
        target["url"] = restarted.url
        for thread in threads:
            thread.join(timeout=300)
        stats = httpx.get(f"{restarted.url}/stats", headers=_headers(READ)).json()
        kills = [
            httpx.get(f"{restarted.url}/leads/K{i}", headers=_headers(READ), params={"events": 0}).json()["events_total"]
            for i in range(7)
        ]  # fmt: skip
    finally:
        stop(process)
    assert unacknowledged  # the kill did interrupt the ingestion
    assert sum(kills) == batches * per_batch * clients
    assert stats["events"] >= sum(kills)
