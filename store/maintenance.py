"""Erasure, counts and the rescoring queues of the lead store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select

from store.tables import (
    alert_events,
    current_scores,
    deals,
    events,
    lead_alert_states,
    leads,
    score_history,
)

ERASED_TABLES = (
    "events", "deals", "current_scores", "score_history", "alert_events", "lead_alert_states",
    "leads",
)  # fmt: skip


def erase_lead(connection: Connection, lead_id: str) -> dict[str, int]:
    """Remove everything the store holds about one lead (a right-to-erasure request), in
    the caller's transaction; return how many rows of each table went."""
    removed = {}
    # A lead's alert events take their undelivered outbox rows with them (foreign key).
    tables = (
        events, deals, current_scores, score_history, alert_events, lead_alert_states, leads,
    )  # fmt: skip
    for table in tables:
        result = connection.execute(delete(table).where(table.c.lead_id == lead_id))
        removed[table.name] = int(result.rowcount)
    return removed


def store_stats(connection: Connection, known_event_types: Iterable[str]) -> dict[str, Any]:
    """Counts per table, scores per model version, stored events per type and the types no
    feature knows by name (they still count in the overall engagement features)."""

    def count(table: Any, *where: Any) -> int:
        query = select(func.count()).select_from(table).where(*where)
        return int(connection.execute(query).scalar_one())

    per_type = {
        event_type: int(n)
        for event_type, n in connection.execute(
            select(events.c.event_type, func.count()).group_by(events.c.event_type)
        )
    }
    per_version = {
        version: int(n)
        for version, n in connection.execute(
            select(current_scores.c.model_version, func.count()).group_by(
                current_scores.c.model_version
            )
        )
    }
    known = set(known_event_types)
    return {
        "leads": count(leads),
        "events": sum(per_type.values()),
        "deals": count(deals),
        "open_deals": count(deals, deals.c.closed_at.is_(None)),
        "scored_leads": sum(per_version.values()),
        "leads_awaiting_score": count(leads, leads.c.needs_score),
        "scores_by_model_version": dict(sorted(per_version.items())),
        "score_history_rows": count(score_history),
        "event_types": dict(sorted(per_type.items())),
        "unknown_event_types": {k: v for k, v in sorted(per_type.items()) if k not in known},
    }


def leads_needing_score(connection: Connection, limit: int) -> list[str]:
    """Leads that changed since their last stored score (or were never scored), those
    waiting longest first."""
    query = (
        select(leads.c.lead_id)
        .where(leads.c.needs_score)
        .order_by(leads.c.score_due_since)
        .limit(limit)
    )
    return list(connection.execute(query).scalars())


def leads_scored_by_other_models(connection: Connection, version: str, limit: int) -> list[str]:
    """Leads whose current score comes from a model version other than ``version``."""
    # Two ranges of the version index rather than a scan for "not equal".
    version_column = current_scores.c.model_version
    query = (
        select(current_scores.c.lead_id)
        .where(or_(version_column < version, version_column > version))
        .limit(limit)
    )
    return list(connection.execute(query).scalars())


def leads_scored_before(connection: Connection, scored_at: int, limit: int) -> list[str]:
    """Leads whose current score is older than ``scored_at`` (UTC epoch microseconds)."""
    query = (
        select(current_scores.c.lead_id)
        .where(current_scores.c.scored_at < scored_at)
        .order_by(current_scores.c.scored_at)
        .limit(limit)
    )
    return list(connection.execute(query).scalars())
