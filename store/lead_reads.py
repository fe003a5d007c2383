"""Reads of the lead store: one lead as the API shows it, and what scoring a lead needs.

The account roll-up (engaged colleagues) is computed here, from the store, with the engines'
rule (:mod:`features.spec`): other leads of the same account with an engagement event (not a
passive type) in ``(as_of - window, as_of]``; none for a lead without an account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, bindparam, func, select

from store.tables import current_scores, deals, events, leads, score_history

DAY_MICROS = 86_400 * 1_000_000


@dataclass(frozen=True)
class ScoringInput:
    """Everything a model needs about one stored lead (times in UTC epoch microseconds)."""

    lead_id: str
    revision: int
    created_at: int
    account_id: str | None
    attributes: dict[str, Any]
    event_times: list[int]
    event_types: list[str]
    deals: list[dict[str, Any]] = field(default_factory=list)
    colleagues: int | None = None


# The statements of one lead's reads, built once: ``GET /leads/{id}`` runs five per request,
# and building a statement cost more than running it (measured).
_LEAD = bindparam("lead_id")
_LIMIT = bindparam("limit")
_LEAD_WITH_SCORE = (
    select(leads, *[c.label(f"score_{c.name}") for c in current_scores.c])
    .select_from(leads.outerjoin(current_scores, current_scores.c.lead_id == leads.c.lead_id))
    .where(leads.c.lead_id == _LEAD)
)
_RECENT_EVENTS = (
    select(events.c.occurred_at, events.c.event_type, events.c.campaign, events.c.channel)
    .where(events.c.lead_id == _LEAD)
    .order_by(events.c.occurred_at.desc(), events.c.id.desc())
    .limit(_LIMIT)
)
_EVENT_COUNT = select(func.count()).select_from(events).where(events.c.lead_id == _LEAD)
_DEALS = (
    select(deals.c.deal_id, deals.c.opened_at, deals.c.closed_at, deals.c.won, deals.c.amount)
    .where(deals.c.lead_id == _LEAD)
    .order_by(deals.c.id)
)
_HISTORY = (
    select(
        score_history.c.lead_id, score_history.c.as_of, score_history.c.scored_at,
        score_history.c.model_version, score_history.c.probability, score_history.c.score,
        score_history.c.tier, score_history.c.cause,
    )
    .where(score_history.c.lead_id == _LEAD)
    .order_by(score_history.c.id.desc())
    .limit(_LIMIT)
)  # fmt: skip


def lead_record(connection: Connection, lead_id: str) -> dict[str, Any] | None:
    """The lead row with its current score (``score`` None until it has one)."""
    row = connection.execute(_LEAD_WITH_SCORE, {"lead_id": lead_id}).first()
    if row is None:
        return None
    values = dict(row._mapping)
    score = {c.name: values.pop(f"score_{c.name}") for c in current_scores.c}
    values["score"] = None if score["model_version"] is None else score
    return values


def is_fresh(record: dict[str, Any]) -> bool:
    """Whether the stored score saw the lead's last change."""
    score = record["score"]
    return score is not None and score["revision"] >= record["revision"]


def recent_events(connection: Connection, lead_id: str, limit: int) -> list[dict[str, Any]]:
    """The lead's latest ``limit`` events, newest first."""
    rows = connection.execute(_RECENT_EVENTS, {"lead_id": lead_id, "limit": limit})
    return [dict(row._mapping) for row in rows]


def event_count(connection: Connection, lead_id: str) -> int:
    return int(connection.execute(_EVENT_COUNT, {"lead_id": lead_id}).scalar_one())


def lead_deals(connection: Connection, lead_id: str) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(_DEALS, {"lead_id": lead_id})]


def score_history_of(connection: Connection, lead_id: str, limit: int) -> list[dict[str, Any]]:
    """The lead's latest ``limit`` history rows, newest first."""
    rows = connection.execute(_HISTORY, {"lead_id": lead_id, "limit": limit})
    return [dict(row._mapping) for row in rows]


def scoring_inputs(
    connection: Connection,
    lead_ids: Sequence[str],
    as_of: int,
    *,
    passive_types: Iterable[str],
    account_window_days: int,
) -> list[ScoringInput]:
    """The stored leads among ``lead_ids`` with their events, deals and engaged colleagues as
    of ``as_of``, in the order asked (leads not in the store are left out)."""
    if not lead_ids:
        return []
    wanted = sorted(set(lead_ids))
    rows = {
        row.lead_id: row
        for row in connection.execute(
            select(
                leads.c.lead_id, leads.c.revision, leads.c.created_at, leads.c.account_id,
                leads.c.attributes,
            ).where(leads.c.lead_id.in_(wanted))
        )
    }  # fmt: skip
    times: dict[str, list[int]] = defaultdict(list)
    types: dict[str, list[str]] = defaultdict(list)
    event_rows = connection.execute(
        select(events.c.lead_id, events.c.occurred_at, events.c.event_type).where(
            events.c.lead_id.in_(wanted)
        )
    )
    for lead_id, occurred_at, event_type in event_rows:
        times[lead_id].append(occurred_at)
        types[lead_id].append(event_type)
    lead_deal_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in connection.execute(
        select(deals.c.lead_id, deals.c.opened_at, deals.c.closed_at, deals.c.won).where(
            deals.c.lead_id.in_(wanted)
        )
    ):
        lead_deal_rows[row.lead_id].append(dict(row._mapping))
    window = account_window_days * DAY_MICROS
    passive = sorted(set(passive_types))
    accounts = sorted({row.account_id for row in rows.values() if row.account_id is not None})
    engaged = _engaged_per_account(connection, accounts, as_of, window, passive)
    passive_set = set(passive)
    out = []
    for lead_id in lead_ids:
        row = rows.get(lead_id)
        if row is None:
            continue
        colleagues = None
        if row.account_id is not None:
            itself = any(
                as_of - window < t <= as_of and kind not in passive_set
                for t, kind in zip(times[lead_id], types[lead_id], strict=True)
            )
            colleagues = engaged.get(row.account_id, 0) - (1 if itself else 0)
        out.append(
            ScoringInput(
                lead_id=lead_id, revision=row.revision, created_at=row.created_at,
                account_id=row.account_id, attributes=dict(row.attributes),
                event_times=times[lead_id], event_types=types[lead_id],
                deals=lead_deal_rows[lead_id], colleagues=colleagues,
            )
        )  # fmt: skip
    return out


def _engaged_per_account(
    connection: Connection, accounts: list[str], as_of: int, window: int, passive: list[str]
) -> dict[str, int]:
    """Per account: how many of its leads had an engagement event in the window."""
    if not accounts:
        return {}
    condition = and_(
        leads.c.account_id.in_(accounts),
        events.c.occurred_at > as_of - window,
        events.c.occurred_at <= as_of,
    )
    if passive:
        condition = and_(condition, events.c.event_type.not_in(passive))
    query = (
        select(leads.c.account_id, func.count(func.distinct(events.c.lead_id)))
        .select_from(leads.join(events, events.c.lead_id == leads.c.lead_id))
        .where(condition)
        .group_by(leads.c.account_id)
    )
    return {account: int(count) for account, count in connection.execute(query)}


def score_history_frame(connection: Connection) -> pd.DataFrame:
    """Every score history row (what was served) with UTC timestamps, for the served-score
    backtest of ``leadscore evaluate``."""
    query = select(
        score_history.c.lead_id, score_history.c.as_of, score_history.c.scored_at,
        score_history.c.model_version, score_history.c.probability, score_history.c.tier,
        score_history.c.cause,
    ).order_by(score_history.c.id)  # fmt: skip
    frame = pd.DataFrame(
        connection.execute(query).all(), columns=list(query.selected_columns.keys())
    )
    for column in ("as_of", "scored_at"):
        frame[column] = pd.to_datetime(frame[column].astype("int64"), unit="us", utc=True)
    return frame
