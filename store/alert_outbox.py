"""Alerts into the transactional outbox, inside the caller's write transaction.

:func:`write_alerts` runs in the transaction that stores score changes
(:func:`store.score_records.scores_changed`): the rules' verdicts, their per-lead state, the
alert events and one outbox row per matching subscription are committed with the scores or
not at all, so an alert is never lost between "the score changed" and "someone was told".

Rescoring after a champion change raises no per-lead alerts: its verdicts are tallied in
``model_changes`` and announced once by :func:`announce_model_change` when every stored lead
has a score from the new version.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from features.spec import PASSIVE_EVENT_TYPES
from store.alert_payloads import dumps, lead_payload, model_payload, new_event_id
from store.alert_rules import (
    Activity,
    AlertPolicy,
    AlertState,
    lead_alerts,
    model_event_type,
    needs_activity,
    tier_rank,
)
from store.ingest_writes import insert_for
from store.score_records import ScoreChange
from store.tables import (
    alert_events,
    alert_outbox,
    current_scores,
    deals,
    events,
    lead_alert_states,
    leads,
    model_changes,
    webhook_subscriptions,
)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
NOT_SENT = "not sent: the subscription is disabled"


def write_alerts(
    connection: Connection, changes: Sequence[ScoreChange], policy: AlertPolicy
) -> int:
    """Apply the rules to ``changes``; store their state, the alerts and the outbox rows.
    Return the number of alert events written."""
    if not changes:
        return 0
    lead_ids = [change.lead_id for change in changes]
    states = _states(connection, lead_ids)
    activities = _activities(
        connection,
        [c.lead_id for c in changes if needs_activity(c.previous, c.current, policy)],
    )
    new_states: dict[str, AlertState] = {}
    raised: list[tuple[str, ScoreChange]] = []
    tallies: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for change in changes:
        before = states.get(change.lead_id, AlertState())
        types, after = lead_alerts(
            change.previous, change.current, before, activities.get(change.lead_id), policy
        )
        if after != before or change.lead_id not in states:
            new_states[change.lead_id] = after
        previous_version = None if change.previous is None else change.previous["model_version"]
        if previous_version is not None and previous_version != change.current.model_version:
            # Scored by the new champion: counted whatever brought the rescoring (the
            # background rescoring, a change of the lead, a read). Only the rescoring's own
            # alerts are summarised in the announcement; a changed lead's are its news.
            key = (change.current.model_version, previous_version)
            tallies[key]["rescored"] += 1
            if change.current.cause == "model":
                tallies[key].update(types)
                continue
        raised.extend((event_type, change) for event_type in types)
    _save_states(connection, new_states)
    for (version, previous_version), counts in tallies.items():
        _tally_model_change(connection, version, previous_version, counts, changes[0])
    if not raised:
        return 0
    accounts = dict(
        connection.execute(
            select(leads.c.lead_id, leads.c.account_id).where(
                leads.c.lead_id.in_({change.lead_id for _, change in raised})
            )
        ).all()
    )
    items = []
    for event_type, change in raised:
        event_id = new_event_id()
        payload = lead_payload(event_id, event_type, change, accounts.get(change.lead_id), policy)
        tiers = [change.current.tier] + (
            [] if change.previous is None else [change.previous["tier"]]
        )
        items.append((event_id, event_type, change.lead_id, payload, min(map(tier_rank, tiers))))
    return insert_events(connection, items, changes[0].current.scored_at)


def insert_events(
    connection: Connection,
    items: Sequence[tuple[str, str, str | None, dict[str, Any], int | None]],
    now: int,
    *,
    only_subscription: str | None = None,
) -> int:
    """Store events ``(event_id, type, lead_id, payload, best tier rank or None)`` and an
    outbox row for every subscription that wants each (or for ``only_subscription``, whatever
    it wants: test deliveries). A disabled subscription's rows are dead letters from the start:
    nothing is sent to a receiver that answered 410, and a replay after it is fixed sends what
    it missed."""
    if not items:
        return 0
    query = select(
        webhook_subscriptions.c.id, webhook_subscriptions.c.events,
        webhook_subscriptions.c.min_tier, webhook_subscriptions.c.enabled,
    )  # fmt: skip
    if only_subscription is not None:
        query = query.where(webhook_subscriptions.c.id == only_subscription)
    subscriptions = connection.execute(query).all()
    rows = connection.execute(
        alert_events.insert().returning(alert_events.c.id, sort_by_parameter_order=True),
        [
            {"event_id": e, "event_type": t, "lead_id": lead, "created_at": now, "payload": dumps(p)}
            for e, t, lead, p, _ in items
        ],
    ).scalars().all()  # fmt: skip
    outbox = []
    for row_id, (_, event_type, _, _, rank) in zip(rows, items, strict=True):
        for sub_id, wanted, min_tier, enabled in subscriptions:
            if only_subscription is None and event_type not in wanted:
                continue
            if min_tier and rank is not None and rank > tier_rank(min_tier):
                continue
            outbox.append(
                {"event_row": row_id, "subscription_id": sub_id, "created_at": now,
                 "next_attempt_at": now, "attempts": 0,
                 "status": PENDING if enabled else DEAD,
                 "last_error": None if enabled else NOT_SENT}
            )  # fmt: skip
    if outbox:
        connection.execute(alert_outbox.insert(), outbox)
    return len(rows)


def announce_model_change(connection: Connection, version: str, now: int) -> str | None:
    """Announce the champion change to ``version`` once every stored lead is scored by it
    (one ``model.promoted`` or ``model.rolled_back`` event with the rescoring's tallies);
    the event id, or None when there is nothing (yet) to announce."""
    row = connection.execute(
        select(model_changes)
        .where(model_changes.c.model_version == version, ~model_changes.c.announced)
        .with_for_update()
    ).first()
    if row is None:
        return None
    version_column = current_scores.c.model_version
    left = connection.execute(
        select(current_scores.c.lead_id)
        .where((version_column < version) | (version_column > version))
        .limit(1)
    ).first()
    if left is not None:
        return None
    fields = dict(row._mapping)
    event_id = new_event_id()
    event_type = model_event_type(version, fields["previous_version"])
    payload = model_payload(event_id, event_type, fields, now)
    insert_events(connection, [(event_id, event_type, None, payload, None)], now)
    connection.execute(
        update(model_changes).where(model_changes.c.model_version == version).values(announced=True)
    )
    return event_id


def _tally_model_change(
    connection: Connection,
    version: str,
    previous_version: str,
    counts: Counter[str],
    sample: ScoreChange,
) -> None:
    row = connection.execute(
        select(model_changes).where(model_changes.c.model_version == version).with_for_update()
    ).first()
    rescored = counts.pop("rescored")
    if row is None or row.announced:
        # A new change to this version (a version promoted again later starts afresh).
        values = {
            "previous_version": previous_version, "started_at": sample.current.scored_at,
            "rescored": rescored, "tallies": dict(counts), "announced": False,
        }  # fmt: skip
        if row is None:
            connection.execute(model_changes.insert().values(model_version=version, **values))
        else:
            connection.execute(
                update(model_changes)
                .where(model_changes.c.model_version == version)
                .values(**values)
            )
        return
    tallies = Counter(row.tallies or {})
    tallies.update(counts)
    connection.execute(
        update(model_changes)
        .where(model_changes.c.model_version == version)
        .values(rescored=row.rescored + rescored, tallies=dict(tallies))
    )


def _states(connection: Connection, lead_ids: Sequence[str]) -> dict[str, AlertState]:
    query = select(lead_alert_states).where(lead_alert_states.c.lead_id.in_(lead_ids))
    return {
        row.lead_id: AlertState(row.armed, row.ready_floor, row.last_ready_at, row.episode)
        for row in connection.execute(query)
    }


def _save_states(connection: Connection, states: dict[str, AlertState]) -> None:
    if not states:
        return
    upsert = insert_for(connection, lead_alert_states)
    columns = {c.name: upsert.excluded[c.name] for c in lead_alert_states.c if c.name != "lead_id"}
    connection.execute(
        upsert.on_conflict_do_update(index_elements=["lead_id"], set_=columns),
        [
            {"lead_id": lead_id, "armed": s.armed, "ready_floor": s.ready_floor,
             "last_ready_at": s.last_ready_at, "episode": s.episode}
            for lead_id, s in sorted(states.items())
        ],
    )  # fmt: skip


def _activities(connection: Connection, lead_ids: Sequence[str]) -> dict[str, Activity]:
    """When each lead was created, engaged (events that are not passive) and closed deals."""
    if not lead_ids:
        return {}
    created = dict(
        connection.execute(
            select(leads.c.lead_id, leads.c.created_at).where(leads.c.lead_id.in_(lead_ids))
        ).all()
    )
    out = {lead_id: Activity(at) for lead_id, at in created.items()}
    engaged = connection.execute(
        select(events.c.lead_id, events.c.occurred_at)
        .where(events.c.lead_id.in_(lead_ids), events.c.event_type.not_in(PASSIVE_EVENT_TYPES))
        .order_by(events.c.lead_id, events.c.occurred_at)
    )
    for lead_id, at in engaged:
        out[lead_id].engaged_at.append(at)
    closed = connection.execute(
        select(deals.c.lead_id, deals.c.closed_at)
        .where(deals.c.lead_id.in_(lead_ids), deals.c.closed_at.is_not(None))
        .order_by(deals.c.lead_id, deals.c.closed_at)
    )
    for lead_id, at in closed:
        out[lead_id].closed_at.append(at)
    return out
