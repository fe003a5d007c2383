"""The lead store's alerts as the service and the CLI use them: subscriptions, claims and
outcomes of deliveries, replay, the delivery log, the "just became hot" list. Each method is
one transaction (see :class:`store.lead_store.LeadStore` for the store itself)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from store import outbox_claims, webhook_subscriptions
from store.alert_outbox import insert_events
from store.alert_payloads import new_event_id, test_payload
from store.database import StoreDatabase
from store.lead_store import now_micros
from store.outbox_claims import Claimed, Outcome


class AlertStore:
    """Alerts of one store database."""

    def __init__(self, db: StoreDatabase) -> None:
        self.db = db

    def subscribe(self, url: str, events: Sequence[str], min_tier: str | None) -> dict[str, Any]:
        """A new subscription, with its signing secret (shown this once)."""
        with self.db.write() as connection:
            return webhook_subscriptions.add_subscription(
                connection, url, events, min_tier, now_micros()
            )

    def subscriptions(self) -> list[dict[str, Any]]:
        with self.db.read() as connection:
            return webhook_subscriptions.list_subscriptions(connection)

    def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """The subscription as shown (masked URL, no secret), or None."""
        with self.db.read() as connection:
            row = webhook_subscriptions.get_subscription(connection, subscription_id)
        return None if row is None else webhook_subscriptions.public(row)

    def unsubscribe(self, subscription_id: str) -> bool:
        with self.db.write() as connection:
            return webhook_subscriptions.remove_subscription(connection, subscription_id)

    def queue_test(self, subscription_id: str) -> str:
        """Queue a ``webhook.test`` event for one subscription; its event id."""
        event_id, now = new_event_id(), now_micros()
        payload = test_payload(event_id, subscription_id, now)
        with self.db.write() as connection:
            insert_events(
                connection,
                [(event_id, "webhook.test", None, payload, None)],
                now,
                only_subscription=subscription_id,
            )
        return event_id

    def claim(self, worker: str, n: int, lease_micros: int) -> list[Claimed]:
        """Claim up to ``n`` due deliveries (none without taking the write lock when nothing
        is due)."""
        now = now_micros()
        with self.db.read() as connection:
            if not outbox_claims.any_due(connection, now):
                return []
        with self.db.write() as connection:
            return outbox_claims.claim(connection, worker, n, now, lease_micros)

    def record(self, worker: str, outcomes: Sequence[Outcome]) -> int:
        if not outcomes:
            return 0
        with self.db.write() as connection:
            return outbox_claims.record_outcomes(connection, worker, outcomes)

    def replay(self, subscription_id: str) -> int:
        with self.db.write() as connection:
            return outbox_claims.replay(connection, subscription_id, now_micros())

    def deliveries(
        self, subscription_id: str, limit: int, status: str | None = None
    ) -> list[dict[str, Any]]:
        with self.db.read() as connection:
            return outbox_claims.deliveries(connection, subscription_id, limit, status)

    def delivery(self, subscription_id: str, event_id: str) -> dict[str, Any] | None:
        """One delivery of the subscription by event id (the newest 500 are searched)."""
        rows = self.deliveries(subscription_id, 500)
        return next((row for row in rows if row["event_id"] == event_id), None)

    def hot_leads(self, limit: int) -> list[dict[str, Any]]:
        with self.db.read() as connection:
            return outbox_claims.hot_leads(connection, limit)

    def prune(self, before: int, limit: int = 5000) -> int:
        """Delete alert events older than ``before`` that wait for no delivery (see
        :func:`store.outbox_claims.prune_alerts`); how many went."""
        with self.db.write() as connection:
            return outbox_claims.prune_alerts(connection, before, limit)
