"""Helpers of the feature engines' tests: a spec for a CRM, random snapshots, one lead's row by
the online engine, a brute-force account roll-up, and a field-by-field comparison."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.online.online_engine import OnlineEngine
from features.spec import PASSIVE_EVENT_TYPES, FeatureParams, FeatureSpec, build_feature_spec
from features.time_rule import DAY_NS

PARAMS = FeatureParams()
COLLEAGUES = "account_engaged_colleagues_30d"


def spec_for(leads: pd.DataFrame, events: pd.DataFrame, outcomes: pd.DataFrame) -> FeatureSpec:
    types = [("industry", "categorical", "Industry"), ("annual_revenue", "numeric", "Revenue"),
             ("is_customer", "boolean", "Existing customer")]  # fmt: skip
    return build_feature_spec(
        types, events[c.EVENT_TYPE].dropna().unique().tolist(), PARAMS, with_opportunities=True
    )


def random_snapshots(leads: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Random (lead, as_of) pairs at arbitrary sub-second times after each lead's creation."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(leads), n)
    created = leads[c.CREATED_AT].to_numpy(dtype="datetime64[ns]").astype(np.int64)[rows]
    as_of = created + rng.integers(0, 300 * DAY_NS, n)
    return pd.DataFrame(
        {c.LEAD_ID: leads[c.LEAD_ID].to_numpy()[rows], AS_OF: pd.to_datetime(as_of, utc=True)}
    )


def colleagues_reference(
    leads: pd.DataFrame, events: pd.DataFrame, lead_id: str, as_of: pd.Timestamp
) -> float:
    """Engaged colleagues by brute force: other leads of the account with an engagement event
    in (as_of - 30 days, as_of], with as_of truncated to the second."""
    account = leads.set_index(c.LEAD_ID).at[lead_id, c.ACCOUNT_ID]
    if pd.isna(account):
        return math.nan
    now = as_of.floor("s")
    mates = set(leads.loc[leads[c.ACCOUNT_ID] == account, c.LEAD_ID]) - {lead_id}
    seen = events[
        events[c.LEAD_ID].isin(mates)
        & ~events[c.EVENT_TYPE].isin(PASSIVE_EVENT_TYPES)
        & (events[c.OCCURRED_AT] <= now)
        & (events[c.OCCURRED_AT] > now - pd.Timedelta(days=30))
    ]
    return float(seen[c.LEAD_ID].nunique())


def online_row(
    engine: OnlineEngine,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    lead_id: str,
    as_of: pd.Timestamp,
    colleagues: float | None,
    open_deals: pd.DataFrame | None = None,
) -> dict[str, object]:
    lead = leads.loc[leads[c.LEAD_ID] == lead_id].iloc[0]
    own = events.loc[events[c.LEAD_ID] == lead_id]
    deals = outcomes.loc[outcomes[c.LEAD_ID] == lead_id]
    if c.OPENED_AT not in deals.columns:
        deals = deals.assign(**{c.OPENED_AT: pd.NaT})
    dated = deals.loc[deals[c.OPENED_AT].notna()]
    still_open = (
        open_deals.loc[open_deals[c.LEAD_ID] == lead_id, c.OPENED_AT]
        if open_deals is not None
        else dated[c.OPENED_AT].iloc[:0]
    )
    opened = np.r_[
        dated[c.OPENED_AT].to_numpy(dtype="datetime64[ns]"),
        still_open.to_numpy(dtype="datetime64[ns]"),
    ]
    closed = np.r_[
        dated[c.CLOSED_AT].to_numpy(dtype="datetime64[ns]"),
        np.full(len(still_open), np.datetime64("NaT"), dtype="datetime64[ns]"),
    ]
    return engine.compute(
        lead.to_dict(),
        own[c.OCCURRED_AT].to_numpy(dtype="datetime64[ns]"),
        own[c.EVENT_TYPE].to_numpy(),
        as_of,
        created_at=lead[c.CREATED_AT],
        outcome_closed_at=deals[c.CLOSED_AT].to_numpy(dtype="datetime64[ns]"),
        outcome_won=deals[c.WON].to_numpy(),
        opportunity_opened_at=opened,
        opportunity_closed_at=closed,
        account_engaged_colleagues=None if colleagues is None or math.isnan(colleagues)
        else colleagues,
    )  # fmt: skip


def mismatches(spec: FeatureSpec, online: dict[str, object], batch: pd.Series) -> list[str]:
    bad = []
    for feature in spec.features:
        a, b = online[feature.name], batch[feature.name]
        if feature.kind == "categorical":
            same = (a is None and pd.isna(b)) or (a is not None and not pd.isna(b) and a == b)
        else:
            same = (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9
        if not same:
            bad.append(f"{feature.name}: online={a!r} batch={b!r}")
    return bad
