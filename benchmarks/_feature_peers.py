"""The feature engine's peers, for ``benchmarks/feature_engines.py`` (not a benchmark itself): the same spec computed the
obvious pandas way (merge + group-by), DuckDB's windowed counts, and the largest difference
between two feature tables."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.ingest.dataset import Dataset
from features.spec import PASSIVE_EVENT_TYPES, FeatureSpec
from features.time_rule import DAY_NS


def pandas_features(spec: FeatureSpec, data: Dataset, snapshots: pd.DataFrame) -> pd.DataFrame:
    """The spec computed the obvious pandas way: join snapshots to events, filter, group."""
    p = spec.params
    snaps = snapshots[[c.LEAD_ID, AS_OF]].reset_index(drop=True)
    snaps["snap"] = np.arange(len(snaps))
    snaps["now"] = snaps[AS_OF].dt.floor("s")
    out = pd.DataFrame(index=pd.RangeIndex(len(snaps)))
    leads = data.leads.set_index(c.LEAD_ID)
    for name in (f.name for f in spec.of_family("attribute")):
        out[name] = snaps[c.LEAD_ID].map(leads[name]).to_numpy()
    out["tenure_days"] = (
        (snaps["now"] - snaps[c.LEAD_ID].map(leads[c.CREATED_AT])).dt.total_seconds() / 86_400
    ).to_numpy()
    deals = snaps.merge(data.outcomes, on=c.LEAD_ID)
    deals = deals[deals[c.CLOSED_AT] <= deals["now"]]
    wins = deals[deals[c.WON]].groupby("snap").size()
    lost = deals[~deals[c.WON]].groupby("snap").size()
    out["prior_wins"] = wins.reindex(out.index, fill_value=0).astype(float)
    out["prior_lost_deals"] = lost.reindex(out.index, fill_value=0).astype(float)
    out["is_recycled"] = (out["prior_lost_deals"] > 0).astype(float)

    pairs = snaps.merge(data.events[[c.LEAD_ID, c.OCCURRED_AT, c.EVENT_TYPE]], on=c.LEAD_ID)
    pairs = pairs[pairs[c.OCCURRED_AT] <= pairs["now"]]
    pairs["age"] = (
        (pairs["now"] - pairs[c.OCCURRED_AT]).to_numpy(dtype="timedelta64[ns]").astype(np.int64)
    )
    pairs["weight"] = np.exp2(-(pairs["age"] / DAY_NS) / p.half_life_days)
    types = list(spec.event_types)

    def per_type(frame: pd.DataFrame, column: str, how: str) -> pd.DataFrame:
        grouped = frame.groupby(["snap", c.EVENT_TYPE])[column].agg(how).unstack()
        return grouped.reindex(index=out.index, columns=types)

    windows = sorted(
        {*p.windows, p.intent_window_days, p.click_rate_window_days, p.nurture_window_days}
    )
    counts = {
        w: per_type(pairs[pairs["age"] < w * DAY_NS], "age", "size").fillna(0) for w in windows
    }
    newest = per_type(pairs, "age", "min") / DAY_NS
    decay = per_type(pairs, "weight", "sum").fillna(0.0)
    for t in types:
        for w in p.windows:
            out[f"n_{t}_{w}d"] = counts[w][t].astype(float)
        out[f"days_since_{t}"] = newest[t]
        out[f"decay_{t}"] = decay[t]
        if t in c.INTENT_EVENT_TYPES:
            out[f"intent_{t}_{p.intent_window_days}d"] = (
                counts[p.intent_window_days][t] > 0
            ).astype(float)
    active = pairs[~pairs[c.EVENT_TYPE].isin(PASSIVE_EVENT_TYPES)]
    out["decay_engagement"] = active.groupby("snap")["weight"].sum().reindex(out.index).fillna(0)
    recent, previous = p.trend_recent_days, p.trend_previous_days
    n_recent = active[active["age"] < recent * DAY_NS].groupby("snap").size()
    n_both = active[active["age"] < (recent + previous) * DAY_NS].groupby("snap").size()
    n_recent = n_recent.reindex(out.index, fill_value=0)
    n_previous = n_both.reindex(out.index, fill_value=0) - n_recent
    out[f"trend_{recent}d_vs_{previous}d"] = n_recent / recent - n_previous / previous
    opens = counts[p.click_rate_window_days]["email_open"]
    clicks = counts[p.click_rate_window_days]["email_click"]
    out[f"email_click_rate_{p.click_rate_window_days}d"] = (clicks / opens).where(opens > 0)
    window = active[active["age"] < p.active_window_days * DAY_NS]
    days = (window["age"] // DAY_NS).groupby(window["snap"]).nunique()
    out[f"active_days_{p.active_window_days}d"] = days.reindex(out.index, fill_value=0).astype(
        float
    )
    _buying_state(out, pairs, active, counts[p.nurture_window_days], p)
    # Account roll-up: colleagues (same account, not self) with an engagement event in window.
    accounts = data.leads[[c.LEAD_ID, c.ACCOUNT_ID]].dropna()
    mates = snaps.merge(accounts, on=c.LEAD_ID).merge(
        accounts.rename(columns={c.LEAD_ID: "mate"}), on=c.ACCOUNT_ID
    )
    mates = mates[mates["mate"] != mates[c.LEAD_ID]]
    engaged_events = data.events[~data.events[c.EVENT_TYPE].isin(PASSIVE_EVENT_TYPES)]
    hits = mates.merge(
        engaged_events[[c.LEAD_ID, c.OCCURRED_AT]].rename(columns={c.LEAD_ID: "mate"}), on="mate"
    )
    hits = hits[
        (hits[c.OCCURRED_AT] <= hits["now"])
        & (hits["now"] - hits[c.OCCURRED_AT] < pd.Timedelta(days=p.account_window_days))
    ]
    engaged = hits.groupby("snap")["mate"].nunique()
    has_account = snaps[c.LEAD_ID].map(leads[c.ACCOUNT_ID]).notna().to_numpy()
    colleagues = engaged.reindex(out.index, fill_value=0).astype(float).where(has_account)
    out[f"account_engaged_colleagues_{p.account_window_days}d"] = colleagues
    out.insert(0, AS_OF, snaps[AS_OF].to_numpy())
    out.insert(0, c.LEAD_ID, snaps[c.LEAD_ID].to_numpy())
    return out[[c.LEAD_ID, AS_OF, *spec.names]]


def _buying_state(
    out: pd.DataFrame, pairs: pd.DataFrame, active: pd.DataFrame, nurture: pd.DataFrame, p
) -> None:
    """The buying-state features (``features.spec``), the pandas way."""
    recent, baseline = p.burst_recent_days, p.burst_baseline_days

    def count(frame: pd.DataFrame) -> pd.Series:
        return frame.groupby("snap").size().reindex(out.index, fill_value=0)

    n_recent = count(active[active["age"] < recent * DAY_NS])
    n_baseline = count(active[active["age"] < baseline * DAY_NS])
    out[f"burst_{recent}d_vs_{baseline}d"] = (n_recent / recent) / ((n_baseline + 1) / baseline)
    # The current run of intent signals: newest first, until the first gap of burst_gap_days.
    gap = p.burst_gap_days * DAY_NS
    intent = pairs[pairs[c.EVENT_TYPE].isin(c.INTENT_EVENT_TYPES)].sort_values(["snap", "age"])
    broken = (intent.groupby("snap")["age"].diff() >= gap).groupby(intent["snap"]).cummax()
    run = intent[~broken].groupby("snap")["age"]
    start = (run.max() / DAY_NS).where(run.min() < gap)
    out["days_since_intent_burst_start"] = start.reindex(out.index)
    window = pairs[pairs["age"] < p.sequence_window_days * DAY_NS]
    pricing = window[window[c.EVENT_TYPE] == "pricing_page_view"].groupby("snap")["age"].max()
    demo = window[window[c.EVENT_TYPE] == "demo_request"].groupby("snap")["age"].min()
    then = (demo.reindex(out.index) <= pricing.reindex(out.index)).astype(float)
    out[f"pricing_then_demo_{p.sequence_window_days}d"] = then
    sends = nurture["email_send"]
    days = p.nurture_window_days
    out[f"email_open_rate_{days}d"] = (nurture["email_open"] / sends).where(sends > 0)
    out[f"email_clicks_per_send_{days}d"] = (nurture["email_click"] / sends).where(sends > 0)


def duckdb_counts(data: Dataset, snapshots: pd.DataFrame, windows: tuple[int, ...]) -> float:
    """Seconds DuckDB needs for the per-type windowed counts alone (a range join)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    snaps = snapshots[[c.LEAD_ID, AS_OF]].reset_index(drop=True)
    snaps["snap"] = np.arange(len(snaps))
    events = data.events[[c.LEAD_ID, c.OCCURRED_AT, c.EVENT_TYPE]]
    con.register("snaps", snaps)
    con.register("events", events)
    widest = max(windows)
    filters = ", ".join(
        f"count(*) FILTER (WHERE e.occurred_at > s.as_of - INTERVAL {w} DAY) AS n_{w}d"
        for w in windows
    )
    started = time.perf_counter()
    con.execute(
        f"""CREATE TABLE counts AS SELECT s.snap, e.event_type, {filters}
        FROM snaps s JOIN events e ON s.lead_id = e.lead_id
          AND e.occurred_at <= s.as_of AND e.occurred_at > s.as_of - INTERVAL {widest} DAY
        GROUP BY s.snap, e.event_type"""
    )
    return time.perf_counter() - started


def max_difference(spec: FeatureSpec, left: pd.DataFrame, right: pd.DataFrame) -> float:
    """Largest numeric difference (NaN must match NaN); categoricals must be identical."""
    worst = 0.0
    for feature in spec.features:
        a, b = left[feature.name], right[feature.name]
        if feature.kind == "categorical":
            if (
                not a.astype(object)
                .where(a.notna(), None)
                .equals(b.astype(object).where(b.notna(), None))
            ):
                return float("inf")
            continue
        x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return float("inf")
        both = ~np.isnan(x)
        if both.any():
            worst = max(worst, float(np.abs(x[both] - y[both]).max()))
    return worst
