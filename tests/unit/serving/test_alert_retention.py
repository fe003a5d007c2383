"""The delivery worker applies the alert retention when it is idle: old finished alerts go,
recent ones stay."""

from __future__ import annotations

import time

from sqlalchemy import select

from serving.alert_worker import DeliveryWorker
from serving.webhook_sender import RetryPolicy
from store.alert_outbox import insert_events
from store.alert_store import AlertStore
from store.lead_store import LeadStore, now_micros
from store.tables import alert_events, alert_outbox

DAY = 86_400_000_000


def test_an_idle_worker_prunes_alerts_past_the_retention(tmp_path) -> None:
    store = LeadStore.open(f"sqlite:///{tmp_path / 'store.sqlite'}", "demo")
    alerts = AlertStore(store.db)
    alerts.subscribe("http://a.example/", ["model.promoted"], None)
    now = now_micros()
    with store.db.write() as connection:
        for event_id, age_days in (("old", 100), ("recent", 10)):
            insert_events(connection, [(event_id, "model.promoted", None, {}, None)],
                          now - age_days * DAY)  # fmt: skip
        connection.execute(alert_outbox.update().values(status="delivered"))
    worker = DeliveryWorker(
        alerts, RetryPolicy(base=1, cap=1, give_up=1, seed=1),
        poll=0.05, timeout=1, batch=5, lease=5, retention_days=90,
    )  # fmt: skip
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _event_ids(store) != ["recent"]:
            time.sleep(0.05)
        assert _event_ids(store) == ["recent"]
    finally:
        worker.stop()
        store.close()


def _event_ids(store: LeadStore) -> list[str]:
    with store.db.read() as connection:
        return list(connection.execute(select(alert_events.c.event_id)).scalars())
