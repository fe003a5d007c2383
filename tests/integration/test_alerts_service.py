"""Alerts end to end on a real ``bentoml serve`` (two workers) over SQLite and a real
PostgreSQL server, delivered to a real receiver process that verifies every signature with
the ``standardwebhooks`` library: subscriptions, a lead crossing the threshold once, a lead
hovering at it, a simulated customer who bought last year coming back, the receiver down
(refused, 500s, 429 + Retry-After), two workers sharing the outbox, a champion change
summarised, dead letters replayed, and a kill -9 between the score change and its delivery.

The model is a stand-in whose score follows the last 30 days' engagement
(``stub_window_model.py``); backoff and retry windows are compressed through settings.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import psutil
import pytest
from alert_support import (
    ADMIN,
    PUBLIC,
    READ,
    AlertService,
    attempts,
    auth,
    event,
    iso,
    last_statuses,
    lead,
    post,
    recorded,
    running_alert_service,
    subscribe,
    undelivered,
    wait_until,
)
from serving_support import (
    STUB_MODEL_CODE,
    RunningService,
    free_port,
    register_stub,
    start_process,
    stop,
    tracking_uri,
    wait_ready,
)

from models.registry import client_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("serving")]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[AlertService]:
    folder = tmp_path_factory.mktemp(f"alerts-{request.param}")
    store_url = None
    if request.param == "postgresql":
        store_url = request.getfixturevalue("postgres_server").create_database()
    with running_alert_service(folder, store_url) as running:
        yield running


def test_subscriptions_are_admin_only_checked_and_masked(service: AlertService) -> None:
    url, body = (
        f"{service.url}/webhooks",
        {"url": "https://x.example/h", "events": ["lead.sales_ready"]},
    )
    assert httpx.post(url, json=body, headers=auth(READ)).status_code == 403
    assert httpx.get(url, headers=auth(READ)).status_code == 403
    bad = httpx.post(url, json=body | {"url": "ftp://u:hunter2@x.example/"}, headers=auth(ADMIN))
    assert bad.status_code == 422 and bad.json()["detail"][0].startswith("url:")
    assert "hunter2" not in bad.text
    unknown = httpx.post(url, json=body | {"events": ["lead.bought"]}, headers=auth(ADMIN))
    assert unknown.status_code == 422 and "events" in unknown.json()["detail"][0]
    made = httpx.post(
        url, json=body | {"url": "https://u:hunter2@x.example/h?k=v"}, headers=auth(ADMIN)
    )
    assert made.status_code == 201 and made.json()["secret"].startswith("whsec_")
    listed = httpx.get(url, headers=auth(ADMIN)).json()["webhooks"]
    shown = next(w for w in listed if w["id"] == made.json()["id"])
    assert shown["url"] == "https://***@x.example/h?k=***" and "secret" not in shown
    assert "hunter2" not in httpx.get(url, headers=auth(ADMIN)).text
    assert httpx.delete(f"{url}/{shown['id']}", headers=auth(ADMIN)).json()["removed"]
    assert httpx.delete(f"{url}/{shown['id']}", headers=auth(ADMIN)).status_code == 404


def test_a_lead_crossing_the_threshold_alerts_once_and_hovering_does_not_flap(
    service: AlertService,
) -> None:
    sub = subscribe(service, "/crossing", ["lead.sales_ready"])
    tested = httpx.post(f"{service.url}/webhooks/{sub['id']}/test", headers=auth(ADMIN)).json()
    assert tested["delivery"]["status"] == "delivered"
    assert service.receiver.records(path="/crossing")[0]["type"] == "webhook.test"
    post(
        service,
        "leads",
        [{"lead_id": "C1", "account_id": "acme", "attributes": {"industry": "software"}}],
    )
    recorded(service, "C1", 18, 1)  # the baseline: sigmoid(-1.5)
    steps = [("web_visit", 27, False), ("web_visit", 38, False), ("web_visit", 50, True)]
    # Then it hovers at the threshold: in and out of sales-ready, four times.
    steps += [("unsubscribe", 48, False), ("content_download", 50, True)] * 4
    for n, (kind, expected, ready) in enumerate(steps, start=2):
        post(service, "events", [event("C1", kind)])
        assert recorded(service, "C1", expected, n)["sales_ready"] is ready
    rows = service.receiver.wait_for(lambda rows: len(rows) >= 2, "/crossing")
    wait_until(lambda: undelivered(service, sub["id"]) == 0, 30, "outbox drained")
    alerts = [
        row for row in service.receiver.records(path="/crossing") if row["type"] != "webhook.test"
    ]
    assert [row["payload"]["data"]["lead_id"] for row in alerts] == ["C1"]  # once, no flapping
    payload, headers = alerts[0]["payload"], alerts[0]["headers"]
    data = payload["data"]
    assert headers["webhook-id"] == payload["id"] == rows[-1]["webhook_id"]
    assert data["previous"]["score"] == 38 and data["current"]["score"] == 50
    assert data["current"]["sales_ready"] and data["account_id"] == "acme"
    assert data["url"] == f"{PUBLIC}/sales#lead=C1" and data["model_version"] == "1"
    moved = data["changes"]["reasons"][0]
    assert (
        moved["feature"] == "recent_engagement" and moved["impact_after"] > moved["impact_before"]
    )
    assert data["changes"]["causes"][0]["kind"] == "lead_changed"
    hot = httpx.get(f"{service.url}/alerts/hot", headers=auth(READ)).json()["leads"]
    assert any(h["lead_id"] == "C1" and h["type"] == "lead.sales_ready" for h in hot)


def test_a_customer_who_bought_last_year_reemerges_exactly_once(
    service: AlertService, tmp_path: Path
) -> None:
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm

    simulate_crm(SimulationConfig(n_leads=300, seed=3), tmp_path)
    leads = pd.read_parquet(tmp_path / "leads.parquet")
    deals = pd.read_parquet(tmp_path / "outcomes.parquet")
    events = pd.read_parquet(tmp_path / "events.parquet")
    won = deals[deals["won"].astype(bool)].merge(leads, on="lead_id")
    customer = won[won["industry"] == "software"].iloc[0]
    # Its history moved so that the won deal closed 330 days ago; what it did after the
    # deal is left out: it went quiet.
    shift = datetime.now(UTC) - timedelta(days=330) - customer["closed_at"].to_pydatetime()
    before = events[
        (events["lead_id"] == customer["lead_id"])
        & (events["occurred_at"] <= customer["closed_at"])
    ]
    lead_id = f"sim-{customer['lead_id']}"
    post(service, "leads", [{"lead_id": lead_id, "attributes": {"industry": "software"},
                              "created_at": iso(customer["created_at"].to_pydatetime() + shift)}])  # fmt: skip
    post(service, "events", [event(lead_id, row.event_type, row.occurred_at.to_pydatetime() + shift)
                              for row in before.itertuples()])  # fmt: skip
    post(service, "deals", [{"lead_id": lead_id, "won": True, "amount": float(customer["amount"]),
                              "opened_at": iso(customer["opened_at"].to_pydatetime() + shift),
                              "closed_at": iso(customer["closed_at"].to_pydatetime() + shift)}])  # fmt: skip
    sub = subscribe(service, "/reemerged", ["lead.reemerged"])
    wait_until(
        lambda: (lead(service, lead_id).get("score") or {}).get("score") == 18, 60, "baseline"
    )
    # It engages again: two demo requests, then more visits; tier B, then A.
    for n, (kind, expected) in enumerate(
        [("demo_request", 38), ("demo_request", 62), ("web_visit", 73), ("web_visit", 82)], start=2
    ):
        post(service, "events", [event(lead_id, kind)])
        recorded(service, lead_id, expected, n)
    service.receiver.wait_for(lambda rows: len(rows) >= 1, "/reemerged")
    wait_until(lambda: undelivered(service, sub["id"]) == 0, 30, "outbox drained")
    rows = service.receiver.records(path="/reemerged")
    assert [(r["type"], r["payload"]["data"]["lead_id"]) for r in rows] == [
        ("lead.reemerged", lead_id)
    ]
    data = rows[0]["payload"]["data"]
    assert (data["previous"]["tier"], data["current"]["tier"]) == ("C", "B")


def test_receiver_down_then_failing_every_alert_arrives(service: AlertService) -> None:
    receiver = service.receiver
    sub = subscribe(service, "/flaky", ["lead.sales_ready"])
    receiver.stop()  # connection refused
    leads = [f"D{i}" for i in range(5)]
    post(service, "leads", [{"lead_id": i, "attributes": {"industry": "software"}} for i in leads])
    for lead_id in leads:
        recorded(service, lead_id, 18, 1)
    post(service, "events", [event(i, "demo_request") for i in leads for _ in range(3)])
    wait_until(lambda: undelivered(service, sub["id"]) == 5, 30, "five alerts queued")
    wait_until(lambda: attempts(service, sub["id"]) >= 10, 30, "refused attempts")
    receiver.mode("/flaky", "500")
    receiver.start()
    wait_until(lambda: attempts(service, sub["id"]) >= 20, 30, "500 attempts")
    receiver.mode("/flaky", "429")
    wait_until(lambda: last_statuses(service, sub["id"]) == {429}, 30, "429s")
    receiver.mode("/flaky", "ok")
    rows = receiver.wait_for(lambda rows: len({r["webhook_id"] for r in rows}) == 5, "/flaky", 60)
    assert sorted(r["payload"]["data"]["lead_id"] for r in rows) == leads  # every one, once
    assert receiver.records("rejected.jsonl") == []
    deliveries = httpx.get(
        f"{service.url}/webhooks/{sub['id']}/deliveries", headers=auth(ADMIN)
    ).json()
    assert {d["status"] for d in deliveries["deliveries"]} == {"delivered"}
    assert min(d["attempts"] for d in deliveries["deliveries"]) > 3


def test_two_workers_never_send_one_outbox_row_at_once(service: AlertService) -> None:
    service.receiver.mode("/slow", "slow")  # 0.3 s an answer: deliveries overlap in time
    subscribe(service, "/slow", ["lead.sales_ready"])
    leads = [f"W{i}" for i in range(30)]
    post(service, "leads", [{"lead_id": i, "attributes": {"industry": "software"}} for i in leads])
    for lead_id in leads:
        recorded(service, lead_id, 18, 1)
    post(service, "events", [event(i, "demo_request") for i in leads for _ in range(2)])
    rows = service.receiver.wait_for(lambda rows: len(rows) >= 30, "/slow", 60)
    assert Counter(r["webhook_id"] for r in rows).most_common(1)[0][1] == 1
    assert service.receiver.records("overlaps.jsonl") == []


def test_a_champion_change_is_announced_once_without_per_lead_alerts(
    service: AlertService,
) -> None:
    types = ["lead.sales_ready", "lead.tier_changed", "lead.score_changed", "model.promoted",
             "model.rolled_back"]  # fmt: skip
    subscribe(service, "/model", types)
    # The plain stub counts every event ever: many scores move at once.
    version = register_stub(service.folder, code=STUB_MODEL_CODE)
    service.receiver.wait_for(lambda rows: len(rows) >= 1, "/model", 90)
    # Rolled back: the alias moves to the first version again.
    client_for(tracking_uri(service.folder)).set_registered_model_alias(
        "leadscore", "champion", "1"
    )
    rows = service.receiver.wait_for(lambda rows: len(rows) >= 2, "/model", 90)
    assert [row["type"] for row in rows] == ["model.promoted", "model.rolled_back"]
    promoted = rows[0]["payload"]["data"]
    assert (promoted["model_version"], promoted["previous_version"]) == (version, "1")
    assert promoted["leads_rescored"] >= 30 and promoted["alerts_summarised"]


def test_dead_letters_are_replayed(service: AlertService) -> None:
    sub = subscribe(service, "/dead", ["lead.sales_ready"])
    service.receiver.mode("/dead", "500")
    post(service, "leads", [{"lead_id": "X1", "attributes": {"industry": "software"}}])
    recorded(service, "X1", 18, 1)
    post(service, "events", [event("X1", "demo_request") for _ in range(3)])
    url = f"{service.url}/webhooks/{sub['id']}/deliveries"
    wait_until(
        lambda: httpx.get(url, headers=auth(ADMIN), params={"status": "dead"}).json()["deliveries"],
        60, "a dead letter",
    )  # fmt: skip
    service.receiver.mode("/dead", "ok")
    replayed = httpx.post(f"{service.url}/webhooks/{sub['id']}/replay", headers=auth(ADMIN)).json()
    assert replayed["queued"] == 1
    rows = service.receiver.wait_for(lambda rows: len(rows) >= 1, "/dead", 30)
    assert rows[0]["payload"]["data"]["lead_id"] == "X1"


def test_kill_9_between_the_score_change_and_its_delivery_loses_nothing(
    service: AlertService,
) -> None:
    sub = subscribe(service, "/k9", ["lead.sales_ready"])
    service.receiver.mode("/k9", "500")  # stored, not delivered
    post(service, "leads", [{"lead_id": "K1", "attributes": {"industry": "software"}}])
    recorded(service, "K1", 18, 1)
    post(service, "events", [event("K1", "demo_request") for _ in range(3)])
    wait_until(lambda: attempts(service, sub["id"]) >= 1, 30, "an attempt")
    tree = psutil.Process(service.process.pid)
    for process in [*tree.children(recursive=True), tree]:
        os.kill(process.pid, signal.SIGKILL)
    service.process.wait(timeout=30)
    service.receiver.mode("/k9", "ok")
    port = free_port()
    process = start_process(service.folder, port, service.folder / "restart.log", service.env)
    restarted = RunningService(f"http://127.0.0.1:{port}", process, service.folder / "restart.log")
    try:
        wait_ready(restarted, 180)
        rows = service.receiver.wait_for(lambda rows: len(rows) >= 1, "/k9", 60)
    finally:
        stop(process)
    assert [row["payload"]["data"]["lead_id"] for row in rows] == ["K1"]
