"""Lifecycle view: how many leads sit in each stage, how long they take, and where they are lost.

Stages, derived from the canonical tables (vectorised; fine for millions of leads):

- nurture: never sales-ready;
- sales-ready: had an intent event (``INTENT_EVENT_TYPES``) or an opportunity, no deal yet;
- opportunity: the latest deal is open at ``as_of`` (opened, not yet closed);
- won: the latest deal closed won;
- lost/recycled: the latest deal closed lost (the lead goes back to nurture for another try).

A deal whose ``opened_at`` is unknown counts as an opportunity from its ``closed_at``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.ingest import contracts as c

STAGES = ("nurture", "sales_ready", "opportunity", "won", "lost_recycled")
_DAY = pd.Timedelta(days=1)


def _require(frame: pd.DataFrame, table: str, columns: tuple[str, ...]) -> None:
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        raise ValueError(f"{table}: missing column(s) {missing}; have {list(frame.columns)}")


_NAT = np.iinfo(np.int64).min  # pandas' NaT as int64 nanoseconds
_NEVER = np.iinfo(np.int64).max  # "not yet" when taking a minimum


def _ns(values: pd.Series) -> np.ndarray:
    """Timestamps as int64 nanoseconds (NaT -> ``_NAT``): integer arrays keep the per-lead
    minimum and comparisons fast on millions of rows."""
    return pd.Series(values).dt.as_unit("ns").array.asi8


def _timestamps(ns: np.ndarray) -> pd.Series:
    """int64 nanoseconds back to UTC timestamps, with ``_NEVER``/``_NAT`` as NaT."""
    return pd.Series(pd.to_datetime(np.where(ns == _NEVER, _NAT, ns), utc=True))


def _positions(index: pd.Index, ids: pd.Series, table: str) -> np.ndarray:
    """Row position of each id in the leads table; raise naming unknown ids, none dropped."""
    pos = index.get_indexer(ids)
    unknown = pos < 0
    if unknown.any():
        raise ValueError(
            f"{table}.lead_id: {int(unknown.sum())} row(s) for unknown leads, "
            f"e.g. {c.examples_of(ids[unknown])}"
        )
    return pos


def lead_milestones(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    as_of: Any | None = None,
) -> pd.DataFrame:
    """Per lead: created_at, sales_ready_at, first opportunity opened/closed, and current stage.

    Only events and deals known at ``as_of`` count (default: everything). Outcomes (and intent
    events) for unknown leads raise, naming a few, rather than being dropped. Lead ids are
    turned into row positions once, so the rest is integer numpy work (no per-lead loop).
    """
    _require(leads, "leads", (c.LEAD_ID, c.CREATED_AT))
    _require(events, "events", (c.LEAD_ID, c.OCCURRED_AT, c.EVENT_TYPE))
    _require(outcomes, "outcomes", (c.LEAD_ID, c.CLOSED_AT, c.WON))
    index = pd.Index(leads[c.LEAD_ID])
    if not index.is_unique:
        dupes = leads[c.LEAD_ID][index.duplicated()]
        raise ValueError(
            f"leads.lead_id: {len(dupes)} duplicate row(s), e.g. {c.examples_of(dupes)}"
        )
    n = len(index)
    cutoff = _NEVER
    if as_of is not None:
        stamp = pd.Timestamp(as_of)
        cutoff = (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).as_unit("ns").value

    # First intent event per lead.
    occurred = _ns(events[c.OCCURRED_AT])
    intent = (events[c.EVENT_TYPE].isin(c.INTENT_EVENT_TYPES).to_numpy()) & (occurred <= cutoff)
    intent &= occurred != _NAT
    first_intent = np.full(n, _NEVER)
    np.minimum.at(
        first_intent, _positions(index, events[c.LEAD_ID][intent], "events"), occurred[intent]
    )

    # Deals known at the cut-off; a deal with no open date is an opportunity from its close.
    deal_lead = _positions(index, outcomes[c.LEAD_ID], "outcomes")
    closed = _ns(outcomes[c.CLOSED_AT])
    opened = (
        _ns(outcomes[c.OPENED_AT])
        if c.OPENED_AT in outcomes.columns
        else np.full(len(outcomes), _NAT)
    )
    start = np.where(opened != _NAT, opened, closed)
    known = (start != _NAT) & (start <= cutoff)
    is_closed = (closed != _NAT) & (closed <= cutoff)
    won = outcomes[c.WON].to_numpy(dtype=bool) & is_closed
    rows = np.flatnonzero(known)
    rows = rows[np.lexsort((start[rows], deal_lead[rows]))]  # by lead, then by start
    lead_sorted = deal_lead[rows]
    # The first deal gives the funnel times; the latest deal gives the current stage.
    is_first = np.r_[True, lead_sorted[1:] != lead_sorted[:-1]] if rows.size else rows.astype(bool)
    is_last = np.r_[lead_sorted[1:] != lead_sorted[:-1], True] if rows.size else rows.astype(bool)
    first_rows, last_rows = rows[is_first], rows[is_last]
    first_leads, last_leads = lead_sorted[is_first], lead_sorted[is_last]

    def per_lead(
        values: np.ndarray, deal_rows: np.ndarray, leads_of: np.ndarray, fill: Any
    ) -> np.ndarray:
        out = np.full(n, fill, dtype=values.dtype)
        out[leads_of] = values[deal_rows]
        return out

    opportunity_at = per_lead(start, first_rows, first_leads, _NEVER)
    opened_at = per_lead(opened, first_rows, first_leads, _NAT)
    first_closed_at = per_lead(np.where(is_closed, closed, _NAT), first_rows, first_leads, _NAT)
    has_deal = np.zeros(n, dtype=bool)
    has_deal[last_leads] = True
    last_closed = per_lead(is_closed, last_rows, last_leads, False)
    last_won = per_lead(won, last_rows, last_leads, False)
    ever_won = np.zeros(n, dtype=bool)
    ever_won[deal_lead[known & won]] = True

    created = _ns(leads[c.CREATED_AT])
    # Intent before the lead record existed (e.g. anonymous visits merged later) counts from
    # creation: a lead cannot be sales-ready before it is a lead.
    sales_ready = np.minimum(first_intent, opportunity_at)
    sales_ready = np.where(sales_ready == _NEVER, _NEVER, np.maximum(sales_ready, created))
    stage = np.select(
        [has_deal & ~last_closed, has_deal & last_won, has_deal & last_closed,
         sales_ready != _NEVER],
        ["opportunity", "won", "lost_recycled", "sales_ready"],
        default="nurture",
    )  # fmt: skip
    return pd.DataFrame(
        {
            c.LEAD_ID: leads[c.LEAD_ID].reset_index(drop=True),
            c.CREATED_AT: leads[c.CREATED_AT].reset_index(drop=True),
            "first_intent_at": _timestamps(first_intent),
            "opportunity_at": _timestamps(opportunity_at),
            "opened_at": _timestamps(opened_at),
            "first_closed_at": _timestamps(first_closed_at),
            "sales_ready_at": _timestamps(sales_ready),
            "stage": pd.Categorical(stage, categories=STAGES),
            "ever_won": ever_won,
        }
    )


def _median_days(delta: pd.Series) -> float:
    days = delta.dropna() / _DAY
    return float(days.median()) if len(days) else float("nan")


def lifecycle_view(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    as_of: Any | None = None,
) -> dict[str, pd.DataFrame]:
    """``stages``: leads per current stage with share; ``funnel``: for each step
    (lead -> sales-ready -> opportunity -> won), how many entered, moved on, the conversion and
    loss rate, and the median days the step took among those that made it."""
    m = lead_milestones(leads, events, outcomes, as_of)
    counts = m["stage"].value_counts(sort=False).reindex(STAGES, fill_value=0)
    stages = pd.DataFrame(
        {"stage": list(STAGES), "leads": counts.to_numpy(), "share": counts.to_numpy() / len(m)}
    )
    n_leads = len(m)
    sales_ready = m["sales_ready_at"].notna()
    opportunity = m["opportunity_at"].notna()
    closed = m["first_closed_at"].notna()
    won = m["ever_won"]
    steps = [
        ("lead", "sales_ready", n_leads, int(sales_ready.sum()),
         _median_days(m["sales_ready_at"] - m[c.CREATED_AT])),
        ("sales_ready", "opportunity", int(sales_ready.sum()), int(opportunity.sum()),
         _median_days(m["opened_at"] - m["sales_ready_at"])),
        ("opportunity", "won", int(closed.sum()), int((won & opportunity).sum()),
         _median_days(m["first_closed_at"] - m["opened_at"])),
    ]  # fmt: skip
    funnel = pd.DataFrame(steps, columns=["from", "to", "entered", "converted", "median_days"])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = funnel["converted"] / funnel["entered"].replace(0, np.nan)
    funnel.insert(4, "conversion", rate)
    funnel.insert(5, "loss_rate", 1.0 - rate)
    return {"stages": stages, "funnel": funnel}
