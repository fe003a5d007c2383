"""Point in time and bad input: later rows change nothing, order changes nothing, errors name the field."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_checks import (
    COLLEAGUES,
    PARAMS,
    mismatches,
    online_row,
    random_snapshots,
    spec_for,
)

from features.batch.batch_engine import compute_features
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF, DataValidationError
from features.online.online_engine import OnlineEngine
from features.spec import build_feature_spec


def _common_as_of_snapshots(leads: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    existing = leads.loc[leads[c.CREATED_AT] <= as_of, c.LEAD_ID]
    return pd.DataFrame({c.LEAD_ID: existing.to_numpy(), AS_OF: as_of})


def test_events_and_outcomes_after_as_of_change_no_feature(small_crm) -> None:
    leads, events, outcomes = small_crm
    spec = spec_for(leads, events, outcomes)
    as_of = pd.Timestamp("2024-09-01 12:00:00", tz="UTC")
    snapshots = _common_as_of_snapshots(leads, as_of)
    before = compute_features(spec, leads, events, outcomes, snapshots)
    rng = np.random.default_rng(1)
    n = 3000
    future = as_of + pd.to_timedelta(
        np.r_[np.ones(50), rng.integers(1, 200 * 86_400 * 10**9, n - 50)], unit="ns"
    )  # includes as_of + 1 ns
    later_events = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(rng.choice(leads[c.LEAD_ID].to_numpy(), n), dtype="str"),
            c.OCCURRED_AT: future,
            c.EVENT_TYPE: pd.Series(rng.choice(list(spec.event_types), n), dtype="str"),
        }
    )
    later_outcomes = pd.DataFrame(
        {
            c.LEAD_ID: later_events[c.LEAD_ID],
            c.CLOSED_AT: future,
            c.WON: rng.random(n) < 0.5,
        }
    )
    # Opportunities that open after as_of, whether they close later or are still open.
    later_outcomes[c.OPENED_AT] = future
    later_open = later_outcomes[[c.LEAD_ID, c.OPENED_AT]].iloc[:500]
    more_events = pd.concat([events, later_events], ignore_index=True)
    more_outcomes = pd.concat([outcomes, later_outcomes], ignore_index=True)
    after = compute_features(
        spec, leads, more_events, more_outcomes, snapshots, open_deals=later_open
    )
    pd.testing.assert_frame_equal(before, after, rtol=0, atol=1e-12)
    assert before["open_opportunity"].sum() > 0  # deals open at as_of exist and still count
    engine = OnlineEngine(spec)
    for lead_id in later_events[c.LEAD_ID].unique()[:40]:
        row = before.loc[before[c.LEAD_ID] == lead_id]
        if row.empty:
            continue
        colleagues = row[COLLEAGUES].iloc[0]
        old = online_row(engine, leads, events, outcomes, lead_id, as_of, colleagues)
        new = online_row(
            engine, leads, more_events, more_outcomes, lead_id, as_of, colleagues, later_open
        )
        assert mismatches(spec, old, pd.Series(new)) == []


def test_shuffling_rows_changes_nothing(small_crm) -> None:
    leads, events, outcomes = small_crm
    spec = spec_for(leads, events, outcomes)
    snapshots = random_snapshots(leads, 300, seed=9)
    reference = compute_features(spec, leads, events, outcomes, snapshots)
    rng = np.random.default_rng(2)
    shuffled = compute_features(
        spec,
        leads.iloc[rng.permutation(len(leads))],
        events.iloc[rng.permutation(len(events))],
        outcomes.iloc[rng.permutation(len(outcomes))],
        snapshots,
    )
    pd.testing.assert_frame_equal(reference, shuffled, rtol=1e-12)
    engine = OnlineEngine(spec)
    own = events.loc[events[c.LEAD_ID] == events[c.LEAD_ID].iloc[0]]
    order = rng.permutation(len(own))
    times = own[c.OCCURRED_AT].to_numpy(dtype="datetime64[ns]")
    kinds = own[c.EVENT_TYPE].to_numpy()
    as_of = own[c.OCCURRED_AT].max()
    straight = engine.compute({}, times, kinds, as_of)
    mixed = engine.compute({}, times[order], kinds[order], as_of)
    assert mismatches(spec, straight, pd.Series(mixed)) == []


def test_unknown_event_types_count_as_engagement_only(crm_factory) -> None:
    spec = spec_for(*crm_factory(20, seed=1))
    engine = OnlineEngine(spec)
    now = np.datetime64("2025-01-10T00:00:00", "ns")
    times = np.array([now - np.timedelta64(1, "D")] * 2)
    row = engine.compute({}, times, np.array(["brand_new_type", "web_visit"]), now)
    assert row["n_web_visit_7d"] == 1
    assert row["active_days_30d"] == 1 and row["trend_7d_vs_28d"] == pytest.approx(2 / 7)


def test_categorical_event_types_give_the_features_of_strings(small_crm) -> None:
    """The loaders' categorical event types, with categories in another order than the spec's,
    one the spec never saw (counted as engagement only) and one no event has, give exactly
    the features of the same types as strings; a missing one is the same named error."""
    leads, events, outcomes = small_crm
    spec = spec_for(leads, events, outcomes)
    events = events.copy()
    events.loc[events.index[::7], c.EVENT_TYPE] = "brand_new_type"
    snapshots = random_snapshots(leads, 300, seed=4)
    as_strings = compute_features(spec, leads, events, outcomes, snapshots)
    names = [*sorted(set(events[c.EVENT_TYPE]), reverse=True), "never_seen"]
    categorical = events.assign(
        **{c.EVENT_TYPE: pd.Categorical(events[c.EVENT_TYPE], categories=names)}
    )
    assert categorical[c.EVENT_TYPE].cat.categories.tolist() != list(spec.event_types)
    pd.testing.assert_frame_equal(
        compute_features(spec, leads, categorical, outcomes, snapshots), as_strings
    )
    categorical.loc[categorical.index[5], c.EVENT_TYPE] = None
    with pytest.raises(DataValidationError, match=r"events\.event_type: missing event type"):
        compute_features(spec, leads, categorical, outcomes, snapshots)


def test_bad_input_names_the_field(small_crm) -> None:
    leads, events, outcomes = small_crm
    spec = spec_for(leads, events, outcomes)
    engine = OnlineEngine(spec)
    times = np.array(["2025-01-01T00:00:00"], dtype="datetime64[ns]")
    with pytest.raises(ValueError, match="as_of: missing"):
        engine.compute({}, times, np.array(["web_visit"]), None)
    with pytest.raises(ValueError, match="event_types: every event type must be a string"):
        engine.compute({}, times, np.array([None], dtype=object), "2025-02-01")
    with pytest.raises(ValueError, match="event_times: missing timestamps"):
        engine.compute({}, np.array(["NaT"], dtype="datetime64[ns]"), ["web_visit"], "2025-02-01")
    with pytest.raises(ValueError, match="differ in length"):
        engine.compute({}, times, np.array(["web_visit", "web_visit"]), "2025-02-01")
    snapshots = random_snapshots(leads, 5, seed=1)
    snapshots.loc[2, AS_OF] = pd.NaT
    with pytest.raises(DataValidationError, match=r"snapshots\.as_of: missing as_of"):
        compute_features(spec, leads, events, outcomes, snapshots)
    orphan = events.copy()
    orphan.loc[0, c.LEAD_ID] = "nobody"
    with pytest.raises(DataValidationError, match=r"events\.lead_id.*'nobody'"):
        compute_features(spec, leads, orphan, outcomes, random_snapshots(leads, 5, seed=1))
    # Every table's lead ids are looked up at once: one error names each bad table.
    stray = outcomes.copy()
    stray.loc[stray.index[-1], c.LEAD_ID] = "stranger"
    with pytest.raises(DataValidationError) as raised:
        compute_features(spec, leads, orphan, stray, random_snapshots(leads, 5, seed=1))
    assert [(p.table, p.column, p.examples) for p in raised.value.problems] == [
        ("events", c.LEAD_ID, ("nobody",)), ("outcomes", c.LEAD_ID, ("stranger",))
    ]  # fmt: skip
    untyped = events.copy()
    untyped.loc[3, c.EVENT_TYPE] = None
    with pytest.raises(DataValidationError, match=r"events\.event_type: missing event type"):
        compute_features(spec, leads, untyped, outcomes, random_snapshots(leads, 5, seed=1))


def test_spec_without_events_gives_history_only_in_both_engines(small_crm) -> None:
    leads, events, outcomes = small_crm
    attrs = [("industry", "categorical", "Industry")]
    spec = build_feature_spec(attrs, [], PARAMS, with_events=False)
    assert spec.names == [
        "industry",
        "tenure_days",
        "prior_lost_deals",
        "prior_wins",
        "is_recycled",
    ]
    snapshots = random_snapshots(leads, 50, seed=4)
    table = compute_features(spec, leads, events, outcomes, snapshots)
    engine = OnlineEngine(spec)
    for _, row in table.iterrows():
        online = online_row(engine, leads, events, outcomes, row[c.LEAD_ID], row[AS_OF], None)
        assert list(online) == spec.names and mismatches(spec, online, row) == []


def test_static_spec_needs_no_time_in_either_engine(small_crm) -> None:
    leads = small_crm[0].drop(columns=[c.CREATED_AT])
    attrs = [("industry", "categorical", "Industry"), ("is_customer", "boolean", "Customer")]
    spec = build_feature_spec(attrs, static=True)
    snapshots = pd.DataFrame(
        {c.LEAD_ID: leads[c.LEAD_ID], AS_OF: pd.Series(pd.NaT, index=leads.index, dtype="M8[ns]")}
    )
    table = compute_features(spec, leads, small_crm[1].iloc[:0], small_crm[2].iloc[:0], snapshots)
    assert list(table.columns) == [c.LEAD_ID, AS_OF, "industry", "is_customer"]
    engine = OnlineEngine(spec)
    for (_, lead), (_, row) in zip(leads.iterrows(), table.iterrows(), strict=True):
        online = engine.compute(lead.to_dict(), [], [], None)
        assert mismatches(spec, online, row) == []
