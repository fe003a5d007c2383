"""The transactional outbox on SQLite and PostgreSQL: alerts written with the score change
that caused them (or not at all), subscriptions matched by type and tier, champion changes
summarised, deliveries claimed by one worker at a time (processes racing for them), outcomes,
leases, replay and erasure."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import func, select

from store import score_records
from store.alert_rules import AlertPolicy
from store.alert_store import AlertStore
from store.database import connect_store
from store.lead_schema import FieldError
from store.lead_store import LeadStore, now_micros
from store.outbox_claims import Outcome
from store.records import EventRecord, IngestBatch, LeadUpdate
from store.score_records import StoreScore
from store.tables import alert_events, alert_outbox, model_changes
from store.webhook_subscriptions import check_url, masked_url

MINUTE = 60 * 1_000_000


@pytest.fixture
def store(store_url: str):
    opened = LeadStore.open(store_url, "demo", alerts=AlertPolicy())
    yield opened
    opened.close()


def _lead(store: LeadStore, lead_id: str, account: str = "acme") -> int:
    now = now_micros()
    store.ingest(
        IngestBatch(
            leads=[LeadUpdate(lead_id, now, "b", account_id=account, sets_account=True)],
            events=[EventRecord(lead_id, now - MINUTE, "demo_request", "e")],
        )
    )
    return store.lead_view(lead_id)["revision"]


def _score(lead: str, revision: int, score: int, version: str = "1", cause: str = "change"):
    now = now_micros()
    tier = "A" if score >= 80 else "B" if score >= 60 else "C" if score >= 30 else "D"
    return StoreScore(
        lead_id=lead, as_of=now, scored_at=now, model_version=version, probability=score / 100,
        score=score, tier=tier, sales_ready=score >= 70, fit=1.0, engagement=2.0,
        reasons=[{"feature": "demo_request", "label": "Demo", "impact": score / 50,
                  "sentence": "Requested a demo"}],
        revision=revision, cause=cause,
    )  # fmt: skip


def _count(store: LeadStore, table, *where) -> int:
    with store.db.read() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar()


def test_a_score_change_writes_its_alerts_with_it_or_not_at_all(store: LeadStore) -> None:
    alerts = AlertStore(store.db)
    ready = alerts.subscribe("http://crm.example/hook", ["lead.sales_ready"], None)
    tiers = alerts.subscribe("https://u:p@x.example/t?token=s3", ["lead.tier_changed"], "A")
    revision = _lead(store, "L1")
    # A failure after the score was stored takes the alerts with it: same transaction.
    with pytest.raises(RuntimeError), store.db.write() as connection:
        score_records.record_scores(connection, [_score("L1", revision, 75)], alerts=store.alerts)
        raise RuntimeError("crash before commit")
    assert _count(store, alert_events) == 0 and store.lead_view("L1")["score"] is None
    store.record_scores([_score("L1", revision, 75)])
    assert _count(store, alert_events, alert_events.c.event_type == "lead.sales_ready") == 1
    # Only the subscription that wants the type gets a delivery.
    assert [d["event_type"] for d in alerts.deliveries(ready["id"], 10)] == ["lead.sales_ready"]
    assert alerts.deliveries(tiers["id"], 10) == []
    # B -> A: a tier change for a subscription limited to tier A leads.
    store.ingest(IngestBatch(events=[EventRecord("L1", now_micros(), "web_visit", "e")]))
    store.record_scores([_score("L1", store.lead_view("L1")["revision"], 85)])
    (delivery,) = alerts.deliveries(tiers["id"], 10)
    assert delivery["event_type"] == "lead.tier_changed" and delivery["status"] == "pending"
    # The secret is shown once; listings mask credentials in the URL.
    assert ready["secret"].startswith("whsec_")
    listed = {row["id"]: row for row in alerts.subscriptions()}
    assert listed[tiers["id"]]["url"] == "https://***@x.example/t?token=***"
    assert "secret" not in listed[tiers["id"]]
    # The sales page's list: the latest sales-ready and re-emerged leads.
    (hot,) = alerts.hot_leads(10)
    assert hot["lead_id"] == "L1" and hot["type"] == "lead.sales_ready" and hot["score"] == 75


def test_a_champion_change_is_summarised_not_alerted_per_lead(store: LeadStore) -> None:
    alerts = AlertStore(store.db)
    sub = alerts.subscribe("http://crm.example/hook", ["lead.tier_changed", "model.promoted"], None)
    revisions = {lead: _lead(store, lead) for lead in ("L1", "L2", "L3")}
    store.record_scores([_score(lead, rev, 50) for lead, rev in revisions.items()])
    store.record_scores([_score("L1", revisions["L1"], 90, "2", "model")])
    assert store.announce_model_change("2") is None  # L2 and L3 still wait for their score
    store.record_scores([_score("L2", revisions["L2"], 65, "2", "model")])
    assert [d["event_type"] for d in alerts.deliveries(sub["id"], 10)] == []  # no per-lead storm
    # L3 changed meanwhile: the new champion scores it for that change. It counts as rescored,
    # and its tier change is its own news, alerted as usual.
    store.ingest(IngestBatch(events=[EventRecord("L3", now_micros(), "web_visit", "e")]))
    store.record_scores([_score("L3", store.lead_view("L3")["revision"], 65, "2", "change")])
    (news,) = alerts.deliveries(sub["id"], 10)
    assert news["event_type"] == "lead.tier_changed"
    event_id = store.announce_model_change("2")
    assert event_id is not None and store.announce_model_change("2") is None  # once
    delivery = next(d for d in alerts.deliveries(sub["id"], 10) if d["event_id"] == event_id)
    assert delivery["event_type"] == "model.promoted"
    with store.db.read() as connection:
        row = connection.execute(select(model_changes)).one()
    assert row.previous_version == "1" and row.rescored == 3
    assert row.tallies["lead.tier_changed"] == 2 and row.tallies["lead.sales_ready"] == 1


def _claim_all(url: str, worker: str) -> list[int]:
    db = connect_store(url)
    alerts, mine = AlertStore(db), []
    try:
        while True:
            claimed = alerts.claim(worker, 7, 60_000_000)
            if not claimed:
                return mine
            mine.extend(item.row_id for item in claimed)
    finally:
        db.dispose()


def test_workers_racing_for_deliveries_never_claim_the_same_row(
    store: LeadStore, store_url: str
) -> None:
    alerts = AlertStore(store.db)
    alerts.subscribe("http://a.example/", ["lead.sales_ready", "lead.score_changed"], None)
    alerts.subscribe("http://b.example/", ["lead.sales_ready"], None)
    revisions = {f"L{i}": _lead(store, f"L{i}") for i in range(60)}
    store.record_scores([_score(lead, rev, 80) for lead, rev in revisions.items()])
    total = _count(store, alert_outbox)
    assert total == 120
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        claims = pool.starmap(_claim_all, [(store_url, f"worker-{i}") for i in range(4)])
    flat = [row for rows in claims for row in rows]
    assert len(flat) == len(set(flat)) == total  # each row claimed exactly once
    assert alerts.claim("late", 10, 60_000_000) == []  # all leased


def test_outcomes_leases_gone_receivers_and_replay(store: LeadStore) -> None:
    alerts = AlertStore(store.db)
    sub = alerts.subscribe("http://a.example/", ["lead.sales_ready"], None)
    revisions = {f"L{i}": _lead(store, f"L{i}") for i in range(3)}
    store.record_scores([_score(lead, rev, 80) for lead, rev in revisions.items()])
    first = alerts.claim("w1", 10, lease_micros=1)  # a lease that ends at once
    assert len(first) == 3
    # w1 "died": its lease is over, w2 takes the rows; w1's late outcome is not recorded.
    second = alerts.claim("w2", 10, 60_000_000)
    assert {c.row_id for c in second} == {c.row_id for c in first}
    now = now_micros()
    late = [Outcome(c.row_id, "delivered", 200, None, now) for c in first]
    assert alerts.record("w1", late) == 0
    a, b, c = second
    recorded = alerts.record(
        "w2",
        [
            Outcome(a.row_id, "delivered", 200, None, now),
            Outcome(b.row_id, "pending", 500, "HTTP 500", now, retry_at=now + 3_600_000_000),
            Outcome(c.row_id, "dead", 410, "410 Gone", now, gone=True),
        ],
    )
    assert recorded == 3
    by_event = {d["event_id"]: d for d in alerts.deliveries(sub["id"], 10)}
    assert by_event[a.event_id]["status"] == "delivered"
    assert by_event[a.event_id]["latency_ms"] is not None
    assert alerts.subscription(sub["id"])["enabled"] is False  # 410 disabled it
    # b waited for a retry: with the subscription off it is a dead letter, its error kept.
    assert by_event[b.event_id]["status"] == "dead" and by_event[b.event_id]["attempts"] == 1
    assert by_event[b.event_id]["last_error"] == "HTTP 500"
    # An alert raised while it is off is not sent, but kept as a dead letter for the replay.
    store.record_scores([_score("L3", _lead(store, "L3"), 90)])
    missed = alerts.deliveries(sub["id"], 1)[0]
    assert missed["status"] == "dead" and missed["attempts"] == 0 and missed["lead_id"] == "L3"
    assert missed["last_error"] == "not sent: the subscription is disabled"
    assert alerts.claim("w3", 10, 60_000_000) == []  # nothing is due while it is off
    assert alerts.replay(sub["id"]) == 3  # b, c and the missed alert, queued again
    assert alerts.subscription(sub["id"])["enabled"] is True
    replayed = {item.event_id for item in alerts.claim("w3", 10, 60_000_000)}
    assert replayed == {b.event_id, c.event_id, missed["event_id"]}


def test_old_alerts_are_pruned_unless_a_delivery_waits(store: LeadStore) -> None:
    alerts = AlertStore(store.db)
    sub = alerts.subscribe("http://a.example/", ["lead.sales_ready"], None)
    revisions = {f"L{i}": _lead(store, f"L{i}") for i in range(4)}
    store.record_scores([_score(lead, rev, 80) for lead, rev in revisions.items()])
    now = now_micros()
    a, b, c, d = sorted(alerts.claim("w", 10, 60_000_000), key=lambda item: item.event_id)
    alerts.record("w", [Outcome(a.row_id, "delivered", 200, None, now),
                        Outcome(b.row_id, "dead", 500, "HTTP 500", now),
                        Outcome(c.row_id, "pending", 500, "HTTP 500", now, retry_at=now)])  # fmt: skip
    with store.db.write() as connection:  # a, b and c are a year old; d is new
        connection.execute(
            alert_events.update()
            .where(alert_events.c.event_id.in_([a.event_id, b.event_id, c.event_id]))
            .values(created_at=now - 365 * 86_400_000_000)
        )
    assert alerts.prune(now - 90 * 86_400_000_000, limit=1) == 1  # in bounded steps
    assert alerts.prune(now - 90 * 86_400_000_000) == 1
    assert alerts.prune(now - 90 * 86_400_000_000) == 0
    left = {row["event_id"]: row["status"] for row in alerts.deliveries(sub["id"], 10)}
    assert left == {c.event_id: "pending", d.event_id: "pending"}  # a retry still waits on c
    assert _count(store, alert_outbox) == 2 and _count(store, alert_events) == 2


def test_erasure_and_unsubscribing_remove_alerts(store: LeadStore) -> None:
    alerts = AlertStore(store.db)
    sub = alerts.subscribe("http://a.example/", ["lead.sales_ready"], None)
    store.record_scores([_score("L1", _lead(store, "L1"), 80)])
    removed = store.erase("L1")
    assert removed["alert_events"] == 1 and removed["lead_alert_states"] == 1
    assert _count(store, alert_outbox) == 0
    store.record_scores([_score("L2", _lead(store, "L2"), 80)])
    assert alerts.unsubscribe(sub["id"]) and _count(store, alert_outbox) == 0
    assert not alerts.unsubscribe(sub["id"])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://a.example/x", "only http and https"),
        ("http:///nohost", "needs a host"),
        ("https://a.example:99999/", "not a valid URL"),
        ("https://a.example/a b", "spaces"),
        ("", "an http(s) URL"),
    ],
)
def test_subscriber_urls_are_checked_without_echoing_them(url: str, message: str) -> None:
    with pytest.raises(FieldError, match=r"^url: ") as caught:
        check_url(url)
    assert message in str(caught.value)
    assert url == "" or url not in str(caught.value)


def test_credentials_in_urls_are_masked() -> None:
    assert masked_url("https://user:pw@h.example:8443/p?a=1&b=x") == (
        "https://***@h.example:8443/p?a=***&b=***"
    )
    assert masked_url("http://h.example/hook") == "http://h.example/hook"


def test_a_payload_says_what_changed_as_the_model_told_it(store: LeadStore) -> None:
    """A score carrying the model's own ``changes`` (reasons in points, causes) is passed on;
    one without is compared by the top reasons' impacts."""
    import dataclasses
    import json

    alerts = AlertStore(store.db)
    sub = alerts.subscribe("http://a.example/", ["lead.score_changed"], None)
    revision = _lead(store, "L1")
    store.record_scores([_score("L1", revision, 20)])
    told = {"previous_as_of": "2026-12-01T00:00:00+00:00", "previous_probability": 0.2,
            "previous_model_version": "1", "causes": [{"kind": "new_events", "text": "1 new event"}],
            "reasons": [{"feature": "demo_request", "label": "Demo", "sentence": "Requested a demo",
                         "points_before": 1.0, "points_after": 9.0}]}  # fmt: skip
    store.ingest(IngestBatch(events=[EventRecord("L1", now_micros(), "web_visit", "e")]))
    revision = store.lead_view("L1")["revision"]
    store.record_scores([dataclasses.replace(_score("L1", revision, 45), changes=told)])
    store.ingest(IngestBatch(events=[EventRecord("L1", now_micros(), "web_visit", "e")]))
    store.record_scores([_score("L1", store.lead_view("L1")["revision"], 60)])
    (claimed_new, claimed_old) = sorted(
        alerts.claim("w", 10, 60_000_000),
        key=lambda c: -json.loads(c.payload)["data"]["current"]["score"],
    )
    assert all(c.subscription_id == sub["id"] for c in (claimed_new, claimed_old))
    passed_on = json.loads(claimed_old.payload)["data"]["changes"]
    assert passed_on == told | {"score_delta": 25}
    computed = json.loads(claimed_new.payload)["data"]["changes"]
    assert computed["score_delta"] == 15 and computed["causes"][0]["kind"] == "lead_changed"
    (moved,) = computed["reasons"]
    assert (moved["impact_before"], moved["impact_after"]) == (0.9, 1.2)
