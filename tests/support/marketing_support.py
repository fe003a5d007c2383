"""Helpers for the marketing-report tests: canonical datasets from short lists of rows, and a
plain-Python reference of the sales-ready episodes and their credit (one lead at a time,
loops and sorts, no arrays) for the vectorised code to agree with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.costs_table import empty_costs
from features.ingest.dataset import Attribute, Dataset, empty_open_deals
from features.ingest.dataset_config import (
    AttributeType,
    DatasetConfig,
    EventsSource,
    LeadsSource,
    OutcomesSource,
)

SOURCE = Attribute("lead_source", "lead_source", AttributeType.categorical)
DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def at(days: float) -> pd.Timestamp:
    """``T0`` plus a number of days."""
    return T0 + days * DAY


def dataset_of(
    leads: Sequence[tuple[str, float, str | None]],
    events: Iterable[tuple] = (),
    deals: Iterable[tuple] = (),
    open_deals: Iterable[tuple[str, float]] = (),
    costs: pd.DataFrame | None = None,
) -> Dataset:
    """A temporal Dataset from rows given in days since ``T0``: leads (id, created, source),
    events (lead, day, type[, campaign[, channel]]), deals (lead, opened or None, closed,
    won[, amount]) and open deals (lead, opened)."""
    lead_frame = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series([row[0] for row in leads], dtype="str"),
            c.CREATED_AT: pd.Series([at(row[1]) for row in leads], dtype=c.TIMESTAMP_DTYPE),
            "lead_source": pd.Series([row[2] for row in leads], dtype="str"),
        }
    )
    events = [tuple(row) + (None,) * (5 - len(row)) for row in events]
    event_frame = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series([row[0] for row in events], dtype="str"),
            c.OCCURRED_AT: pd.Series([at(row[1]) for row in events], dtype=c.TIMESTAMP_DTYPE),
            c.EVENT_TYPE: pd.Series([row[2] for row in events], dtype="str").astype("category"),
            c.CAMPAIGN: pd.Series([row[3] for row in events], dtype="str"),
            c.CHANNEL: pd.Series([row[4] for row in events], dtype="str"),
        }
    )
    deals = [tuple(row) + (None,) * (5 - len(row)) for row in deals]
    outcome_frame = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series([row[0] for row in deals], dtype="str"),
            c.OPENED_AT: pd.Series(
                [pd.NaT if row[1] is None else at(row[1]) for row in deals], dtype=c.TIMESTAMP_DTYPE
            ),
            c.CLOSED_AT: pd.Series([at(row[2]) for row in deals], dtype=c.TIMESTAMP_DTYPE),
            c.WON: pd.Series([bool(row[3]) for row in deals], dtype=bool),
            c.AMOUNT: pd.Series(
                [np.nan if row[4] is None else row[4] for row in deals], dtype=float
            ),
        }
    )
    open_frame = empty_open_deals()
    open_deals = list(open_deals)
    if open_deals:
        open_frame = pd.DataFrame(
            {
                c.LEAD_ID: pd.Series([row[0] for row in open_deals], dtype="str"),
                c.OPENED_AT: pd.Series([at(row[1]) for row in open_deals], dtype=c.TIMESTAMP_DTYPE),
            }
        )
    return dataset_from_frames(lead_frame, event_frame, outcome_frame, open_frame, costs)


def dataset_from_frames(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    open_deals: pd.DataFrame | None = None,
    costs: pd.DataFrame | None = None,
    attributes: tuple[Attribute, ...] = (SOURCE,),
) -> Dataset:
    config = DatasetConfig(
        name="marketing-test",
        leads=LeadsSource(
            path="leads.parquet",
            columns={"lead_id": "lead_id", "created_at": "created_at"},
            attributes={a.source: a.type for a in attributes},
        ),
        events=EventsSource(path="events.parquet"),
        outcomes=OutcomesSource(path="outcomes.parquet"),
    )
    return Dataset(
        config, leads, events, outcomes, attributes,
        open_deals=empty_open_deals() if open_deals is None else open_deals,
        costs=empty_costs() if costs is None else costs,
    )  # fmt: skip


# ------------------------------------------------------------------ plain-Python reference


@dataclass
class RefEpisode:
    lead: int
    start: int
    via_opportunity: bool
    number: int
    reentry: int
    journey_start: int
    last_signal: int
    deal: int = -1
    touches: list[int] = field(default_factory=list)


def reference_episodes(crm, signal_lead, signal_t, quiet_ns: int, lookback_ns: int) -> list:
    """The episodes of ``evaluation.marketing.sales_ready``, lead by lead with a loop."""
    out = []
    for lead in range(crm.n_leads):
        items = []
        for d in np.flatnonzero(crm.deal_lead == lead):
            if crm.deal_close[d] != np.iinfo(np.int64).max:
                instant = crm.deal_close[d] == crm.deal_open[d]  # closes after its own opening
                items.append((int(crm.deal_close[d]), 3 if instant else 0, int(d)))
            items.append((int(crm.deal_open[d]), 1, int(d)))
        items += [(int(t), 2, -1) for t in signal_t[signal_lead == lead]]
        items.sort()
        open_now, prev, last_close, mine = 0, None, None, []
        for pos, (t, kind, d) in enumerate(items):
            if kind in (0, 3):
                open_now -= 1
                last_close = (pos, t, bool(crm.deal_won[d]))
                continue
            if kind == 1:
                open_now += 1
            if open_now > (1 if kind == 1 else 0):
                continue
            closed_since = last_close is not None and (prev is None or last_close[0] > prev[0])
            if prev is None or t - prev[1] > quiet_ns or closed_since:
                if not mine:
                    reentry = 0
                elif closed_since:
                    reentry = 1 if last_close[2] else 2
                else:
                    reentry = 3
                bounds = [t - lookback_ns]
                if mine:
                    bounds.append(mine[-1].start)
                if last_close is not None:
                    bounds.append(last_close[1])
                mine.append(RefEpisode(lead, t, kind == 1, len(mine), reentry, max(bounds), t))
            mine[-1].last_signal = t
            if kind == 1 and mine[-1].deal < 0:
                mine[-1].deal = d
            prev = (pos, t)
        out += mine
    return out


def reference_weights(touch_times: list[tuple[int, int]]) -> dict[str, dict[int, float]]:
    """Each model's weights for a journey's touches given as (time, touch index)."""
    ordered = [index for _, index in sorted(touch_times)]
    n = len(ordered)
    first = {i: float(i == ordered[0]) for i in ordered} if n else {}
    last = {i: float(i == ordered[-1]) for i in ordered} if n else {}
    if n == 1:
        position = {ordered[0]: 1.0}
    elif n == 2:
        position = {i: 0.5 for i in ordered}
    else:
        position = {i: 0.2 / (n - 2) for i in ordered}
        if n:
            position[ordered[0]] = position[ordered[-1]] = 0.4
    return {"first_touch": first, "last_touch": last, "position_based": position}
