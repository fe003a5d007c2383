"""Delivering the outbox: claiming due rows, recording what the receiver said, replaying dead
letters, the delivery log and the sales page's "just became hot" list.

Claims: a delivery worker takes up to ``n`` due rows by writing its name and a lease end into
them, in one statement. On PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED``, so
concurrent workers (processes, replicas) each take rows the others do not hold; on SQLite the
statement runs in the one write transaction at a time (``BEGIN IMMEDIATE`` under the store's
lock file), which serialises claims. A claimed row is due again only once its lease ended (a
worker that died mid-delivery: the row is delivered again, at least once), and a result is
recorded only by the worker that still holds the claim.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update

from store.alert_outbox import DEAD, DELIVERED, NOT_SENT, PENDING
from store.tables import alert_events, alert_outbox, webhook_subscriptions

HOT_TYPES = ("lead.sales_ready", "lead.reemerged")


@dataclass(frozen=True)
class Claimed:
    """One claimed delivery: where to, what, and since when it waits."""

    row_id: int
    subscription_id: str
    url: str
    secret: str
    event_id: str
    event_type: str
    payload: str
    attempts: int
    created_at: int


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: ``status`` delivered, pending (retry at ``retry_at``) or
    dead; ``gone``: the receiver answered 410 and the subscription is disabled."""

    row_id: int
    status: str
    http_status: int | None
    error: str | None
    at: int
    retry_at: int | None = None
    gone: bool = False


def _due(now: int) -> Any:
    return and_(
        alert_outbox.c.status == PENDING,
        alert_outbox.c.next_attempt_at <= now,
        or_(alert_outbox.c.claimed_until.is_(None), alert_outbox.c.claimed_until < now),
    )


def any_due(connection: Connection, now: int) -> bool:
    """Whether a delivery is due (a cheap read before taking the write lock to claim)."""
    query = select(alert_outbox.c.id).where(_due(now)).limit(1)
    return connection.execute(query).first() is not None


def claim(connection: Connection, worker: str, n: int, now: int, lease: int) -> list[Claimed]:
    """Claim up to ``n`` due deliveries of enabled subscriptions for ``lease`` microseconds."""
    due = (
        select(alert_outbox.c.id)
        .join(webhook_subscriptions, webhook_subscriptions.c.id == alert_outbox.c.subscription_id)
        .where(_due(now), webhook_subscriptions.c.enabled)
        .order_by(alert_outbox.c.next_attempt_at, alert_outbox.c.id)
        .limit(n)
    )
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(of=alert_outbox, skip_locked=True)
    claimed = connection.execute(
        update(alert_outbox)
        .where(alert_outbox.c.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker, claimed_until=now + lease)
        .returning(alert_outbox.c.id)
    ).scalars().all()  # fmt: skip
    if not claimed:
        return []
    rows = connection.execute(
        select(
            alert_outbox.c.id, alert_outbox.c.subscription_id, webhook_subscriptions.c.url,
            webhook_subscriptions.c.secret, alert_events.c.event_id, alert_events.c.event_type,
            alert_events.c.payload, alert_outbox.c.attempts, alert_outbox.c.created_at,
        )
        .join(webhook_subscriptions, webhook_subscriptions.c.id == alert_outbox.c.subscription_id)
        .join(alert_events, alert_events.c.id == alert_outbox.c.event_row)
        .where(alert_outbox.c.id.in_(claimed))
        .order_by(alert_outbox.c.next_attempt_at, alert_outbox.c.id)
    )  # fmt: skip
    return [Claimed(*row) for row in rows]


def record_outcomes(connection: Connection, worker: str, outcomes: Sequence[Outcome]) -> int:
    """Record attempts of rows ``worker`` still holds; return how many were recorded."""
    recorded = 0
    statement = (
        update(alert_outbox)
        .where(alert_outbox.c.id == bindparam("b_id"), alert_outbox.c.claimed_by == worker)
        .values(
            status=bindparam("b_status"),
            attempts=alert_outbox.c.attempts + 1,
            next_attempt_at=bindparam("b_next"),
            last_status=bindparam("b_http"),
            last_error=bindparam("b_error"),
            delivered_at=bindparam("b_delivered"),
            claimed_by=None,
            claimed_until=None,
        )
    )
    for outcome in outcomes:
        result = connection.execute(
            statement,
            {
                "b_id": outcome.row_id,
                "b_status": outcome.status,
                "b_next": outcome.retry_at if outcome.retry_at is not None else outcome.at,
                "b_http": outcome.http_status,
                "b_error": None if outcome.error is None else outcome.error[:300],
                "b_delivered": outcome.at if outcome.status == DELIVERED else None,
            },
        )
        recorded += result.rowcount
    gone = [o for o in outcomes if o.gone]
    if gone:
        subscription_ids = (
            select(alert_outbox.c.subscription_id)
            .where(alert_outbox.c.id.in_([o.row_id for o in gone]))
            .scalar_subquery()
        )
        connection.execute(
            update(webhook_subscriptions)
            .where(webhook_subscriptions.c.id.in_(subscription_ids))
            .values(enabled=False, disabled_reason="the receiver answered 410 Gone")
        )
        # What waits for it becomes a dead letter (what another worker holds is recorded by
        # it): a disabled subscription's every undelivered alert is one replay away.
        connection.execute(
            update(alert_outbox)
            .where(
                alert_outbox.c.subscription_id.in_(subscription_ids),
                alert_outbox.c.status == PENDING,
                or_(alert_outbox.c.claimed_until.is_(None), alert_outbox.c.claimed_until < gone[0].at),
            )
            .values(status=DEAD, last_error=func.coalesce(alert_outbox.c.last_error, NOT_SENT))
        )  # fmt: skip
    return recorded


def replay(connection: Connection, subscription_id: str, now: int) -> int:
    """Queue the subscription's dead letters again (from now, with a fresh retry window) and
    enable it again (a 410 disabled it); return how many were queued."""
    connection.execute(
        update(webhook_subscriptions)
        .where(webhook_subscriptions.c.id == subscription_id)
        .values(enabled=True, disabled_reason=None)
    )
    result = connection.execute(
        update(alert_outbox)
        .where(alert_outbox.c.subscription_id == subscription_id, alert_outbox.c.status == DEAD)
        .values(status=PENDING, created_at=now, next_attempt_at=now, claimed_by=None,
                claimed_until=None)
    )  # fmt: skip
    return int(result.rowcount)


def deliveries(
    connection: Connection, subscription_id: str, limit: int, status: str | None = None
) -> list[dict[str, Any]]:
    """The subscription's deliveries, newest first (no payload: the log is about delivery)."""
    query = (
        select(
            alert_events.c.event_id, alert_events.c.event_type, alert_events.c.lead_id,
            alert_outbox.c.status, alert_outbox.c.attempts, alert_outbox.c.last_status,
            alert_outbox.c.last_error, alert_outbox.c.created_at, alert_outbox.c.next_attempt_at,
            alert_outbox.c.delivered_at,
        )
        .join(alert_events, alert_events.c.id == alert_outbox.c.event_row)
        .where(alert_outbox.c.subscription_id == subscription_id)
        .order_by(alert_outbox.c.id.desc())
        .limit(limit)
    )  # fmt: skip
    if status is not None:
        query = query.where(alert_outbox.c.status == status)
    out = []
    for row in connection.execute(query):
        item = dict(row._mapping)
        delivered = item["delivered_at"]
        item["latency_ms"] = (
            None if delivered is None else round((delivered - item["created_at"]) / 1000, 1)
        )
        out.append(item)
    return out


def hot_leads(connection: Connection, limit: int) -> list[dict[str, Any]]:
    """The latest ``lead.sales_ready`` and ``lead.reemerged`` alerts, newest first."""
    query = (
        select(alert_events.c.payload)
        .where(alert_events.c.event_type.in_(HOT_TYPES))
        .order_by(alert_events.c.id.desc())
        .limit(limit)
    )
    out = []
    for (payload,) in connection.execute(query):
        event = json.loads(payload)
        data = event["data"]
        reasons = data.get("reasons") or []
        out.append(
            {
                "event_id": event["id"],
                "type": event["type"],
                "at": event["timestamp"],
                "lead_id": data["lead_id"],
                "account_id": data["account_id"],
                "score": data["current"]["score"],
                "tier": data["current"]["tier"],
                "probability": data["current"]["probability"],
                "previous_score": (data["previous"] or {}).get("score"),
                "top_reason": reasons[0]["sentence"] if reasons else None,
                "url": data["url"],
            }
        )
    return out


def prune_alerts(connection: Connection, before: int, limit: int) -> int:
    """Delete up to ``limit`` alert events created before ``before`` (UTC epoch microseconds)
    that wait for no delivery, oldest first, with their delivery rows (foreign key); return
    how many went. Pending deliveries keep their event however old it is."""
    waiting = (
        select(alert_outbox.c.id)
        .where(alert_outbox.c.event_row == alert_events.c.id, alert_outbox.c.status == PENDING)
        .exists()
    )
    old = (
        select(alert_events.c.id)
        .where(alert_events.c.created_at < before, ~waiting)
        .order_by(alert_events.c.id)
        .limit(limit)
    )
    ids = list(connection.execute(old).scalars())
    if not ids:
        return 0
    # Explicitly too: a foreign key's cascade is not relied on where it may be switched off.
    connection.execute(delete(alert_outbox).where(alert_outbox.c.event_row.in_(ids)))
    connection.execute(delete(alert_events).where(alert_events.c.id.in_(ids)))
    return len(ids)
