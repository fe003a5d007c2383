"""A lead as the API receives it (:class:`~models.schema.LeadIn`) -> one row of the online
feature engine, with the request's mistakes named by field."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from features.online.online_engine import OnlineEngine
from models.schema import LeadIn

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def request_rows(
    engine: OnlineEngine,
    attributes: Collection[str],
    leads: Sequence[LeadIn],
    stamps: Sequence[datetime],
) -> tuple[list[dict[str, Any]], list[int]]:
    """Each lead's features as of its stamp, and how many of its events were known then;
    a bad lead is named by its position, as the schema's 422s are (a lead id may be an
    email)."""
    rows = []
    for index, (lead, as_of) in enumerate(zip(leads, stamps, strict=True)):
        try:
            rows.append(request_row(engine, attributes, lead, as_of))
        except ValueError as exc:
            raise ValueError(f"leads[{index}].{exc}") from None
    events = [
        sum(1 for event in lead.events if event.occurred_at <= as_of)
        for lead, as_of in zip(leads, stamps, strict=True)
    ]
    return rows, events


def request_row(
    engine: OnlineEngine, attributes: Collection[str], lead: LeadIn, as_of: datetime
) -> dict[str, Any]:
    """The lead's features as of ``as_of``; ValueError naming the field for an attribute the
    model does not know or a lead created after ``as_of``."""
    unknown = sorted(set(lead.attributes).difference(attributes))
    if unknown:
        raise ValueError(
            f"attributes: {unknown} are not model attributes (known: {sorted(attributes)})"
        )
    if lead.created_at is not None and lead.created_at > as_of:
        raise ValueError(
            f"created_at: {lead.created_at.isoformat()} is after as_of {as_of.isoformat()}"
        )
    closed = [o for o in lead.outcomes if o.closed_at is not None]
    dated = [o for o in lead.outcomes if o.opened_at is not None]
    return engine.compute(
        lead.attributes,
        _ns_array([e.occurred_at for e in lead.events]),
        [e.event_type for e in lead.events],
        as_of,
        created_at=lead.created_at,
        outcome_closed_at=_ns_array([o.closed_at for o in closed]),
        outcome_won=[o.won for o in closed],
        opportunity_opened_at=_ns_array([o.opened_at for o in dated]),
        opportunity_closed_at=_ns_array([o.closed_at for o in dated]),
        account_engaged_colleagues=lead.account_engaged_colleagues_30d,
    )


def _ns_array(stamps: list[datetime | None]) -> np.ndarray:
    """Aware datetimes -> exact datetime64[ns] (integer arithmetic, no float rounding); None
    -> NaT."""
    nat = np.iinfo(np.int64).min
    ns = [nat if s is None else (s - _EPOCH) // _MICROSECOND * 1000 for s in stamps]
    return np.array(ns, dtype=np.int64).astype("datetime64[ns]")
