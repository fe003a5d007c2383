"""Batch and online engines: parity, point-in-time (leakage) guarantees, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from features.batch.batch_engine import compute_features
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF, DataValidationError
from features.ingest.dataset_config import SnapshotConfig
from features.online.online_engine import OnlineEngine
from features.spec import PASSIVE_EVENT_TYPES, FeatureParams, FeatureSpec, build_feature_spec
from features.time_rule import DAY_NS
from features.trainset.snapshots import SnapshotCounts

PARAMS = FeatureParams()
COLLEAGUES = "account_engaged_colleagues_30d"


def _spec(leads: pd.DataFrame, events: pd.DataFrame, outcomes: pd.DataFrame) -> FeatureSpec:
    types = [("industry", "categorical", "Industry"), ("annual_revenue", "numeric", "Revenue"),
             ("is_customer", "boolean", "Existing customer")]  # fmt: skip
    return build_feature_spec(
        types, events[c.EVENT_TYPE].dropna().unique().tolist(), PARAMS, with_opportunities=True
    )


def _random_snapshots(leads: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Random (lead, as_of) pairs at arbitrary sub-second times after each lead's creation."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(leads), n)
    created = leads[c.CREATED_AT].to_numpy(dtype="datetime64[ns]").astype(np.int64)[rows]
    as_of = created + rng.integers(0, 300 * DAY_NS, n)
    return pd.DataFrame(
        {c.LEAD_ID: leads[c.LEAD_ID].to_numpy()[rows], AS_OF: pd.to_datetime(as_of, utc=True)}
    )


def _colleagues_reference(
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


def _online_row(
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


def _mismatches(spec: FeatureSpec, online: dict[str, object], batch: pd.Series) -> list[str]:
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


def test_batch_and_online_agree_on_600_random_snapshots(crm_factory, open_deals_factory) -> None:
    leads, events, outcomes = crm_factory(400, seed=11)
    open_deals = open_deals_factory(leads, seed=11)
    spec = _spec(leads, events, outcomes)
    snapshots = _random_snapshots(leads, 600, seed=3)
    table = compute_features(
        spec, leads, events, outcomes, snapshots, chunk_leads=97, open_deals=open_deals
    )
    assert list(table.columns) == [c.LEAD_ID, AS_OF, *spec.names]
    engine = OnlineEngine(spec)
    problems = []
    for i, row in table.iterrows():
        expected = _colleagues_reference(leads, events, row[c.LEAD_ID], row[AS_OF])
        assert row[COLLEAGUES] == pytest.approx(expected, nan_ok=True), i
        online = _online_row(
            engine, leads, events, outcomes, row[c.LEAD_ID], row[AS_OF], expected, open_deals
        )
        problems += [f"row {i} {p}" for p in _mismatches(spec, online, row)]
    assert problems == []
    assert 0 < table["open_opportunity"].mean() < 0.5
    # The data exercises what it should: engaged, idle, recycled and account-less snapshots.
    assert (table["n_email_open_90d"] > 0).any() and table["days_since_web_visit"].isna().any()
    assert (table["is_recycled"] == 1).any() and table[COLLEAGUES].isna().any()
    assert (table[COLLEAGUES] > 0).any() and table["industry"].isna().any()


def test_account_roll_up_on_large_and_small_accounts_matches_brute_force(crm_factory) -> None:
    """Engaged colleagues are counted once per account and as_of, then shared by its leads:
    a 120-lead account whose snapshots share as_of times (a periodic grid) and also fall at
    their own times, next to small accounts (one of 8 leads with events at the window's
    edges) and leads without one, equals brute force."""
    leads, events, outcomes = crm_factory(300, seed=21)
    leads = leads.copy()
    leads.loc[leads.index[:120], c.ACCOUNT_ID] = "big-account"
    leads.loc[leads.index[200:208], c.ACCOUNT_ID] = "small-account"
    spec = _spec(leads, events, outcomes)
    rng = np.random.default_rng(8)
    shared = pd.Timestamp("2024-06-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 12, 300) * 30, unit="D"
    )  # at most 12 distinct as_of, shared by many leads
    rows = rng.integers(0, len(leads), 300)
    # Window edges, in each kind of account: a colleague's only event exactly 30 days before
    # a shared as_of is out, another's exactly at it is in.
    active = next(t for t in events[c.EVENT_TYPE].unique() if t not in PASSIVE_EVENT_TYPES)
    edges = pd.DataFrame(
        {
            c.LEAD_ID: leads[c.LEAD_ID].iloc[[1, 2, 201, 202]].to_numpy(),
            c.OCCURRED_AT: [shared[0] - pd.Timedelta(days=30), shared[0]] * 2,
            c.EVENT_TYPE: active,
        }
    )
    events = pd.concat(
        [events[~events[c.LEAD_ID].isin(edges[c.LEAD_ID])], edges], ignore_index=True
    )
    snapshots = pd.concat(
        [
            pd.DataFrame({c.LEAD_ID: leads[c.LEAD_ID].to_numpy()[rows], AS_OF: shared}),
            pd.DataFrame({c.LEAD_ID: leads[c.LEAD_ID].iloc[200:208], AS_OF: shared[0]}),
            _random_snapshots(leads, 300, seed=9),
        ],
        ignore_index=True,
    )
    table = compute_features(spec, leads, events, outcomes, snapshots, chunk_leads=50)
    expected = [
        _colleagues_reference(leads, events, lead, as_of)
        for lead, as_of in zip(table[c.LEAD_ID], table[AS_OF], strict=True)
    ]
    np.testing.assert_array_equal(table[COLLEAGUES].to_numpy(), np.array(expected))
    big = table[c.LEAD_ID].isin(leads[c.LEAD_ID].iloc[:120])
    assert table.loc[big, COLLEAGUES].max() > 5  # the large account is really engaged
    assert (table.loc[table[c.LEAD_ID].isin(leads[c.LEAD_ID].iloc[200:208]), COLLEAGUES] > 0).any()


def test_batch_result_does_not_depend_on_chunking(small_crm) -> None:
    leads, events, outcomes = small_crm
    spec = _spec(leads, events, outcomes)
    snapshots = _random_snapshots(leads, 400, seed=5)
    whole = compute_features(spec, leads, events, outcomes, snapshots, chunk_leads=10_000)
    chunked = compute_features(spec, leads, events, outcomes, snapshots, chunk_leads=7)
    pd.testing.assert_frame_equal(whole, chunked, rtol=1e-12)
    # Chunks computed on 3 threads land in the same rows with the same values.
    threaded = compute_features(spec, leads, events, outcomes, snapshots, chunk_leads=7, threads=3)
    pd.testing.assert_frame_equal(chunked, threaded, rtol=0, atol=0)


def test_open_opportunity_boundaries_in_both_engines() -> None:
    """A deal is open from its opened_at (inclusive) until its closed_at (exclusive): at the
    close instant it is a closed deal. Deals still open at export stay open; the latest open
    one sets the days. Both engines give the same values."""
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    day = pd.Timedelta(days=1)
    leads = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["a"], dtype="str"),
            c.CREATED_AT: [t0],
            c.ACCOUNT_ID: pd.Series([None], dtype="str"),
            "industry": pd.Series(["saas"], dtype="str"),
            "annual_revenue": [1.0],
            "is_customer": [0.0],
        }
    )
    events = pd.DataFrame(
        {c.LEAD_ID: pd.Series(["a"], dtype="str"), c.OCCURRED_AT: [t0], c.EVENT_TYPE: ["web_visit"]}
    )
    outcomes = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["a"], dtype="str"),
            c.OPENED_AT: [t0 + 10 * day],
            c.CLOSED_AT: [t0 + 50 * day],
            c.WON: [False],
        }
    )
    open_deals = pd.DataFrame(
        {c.LEAD_ID: pd.Series(["a"], dtype="str"), c.OPENED_AT: [t0 + 60 * day]}
    )
    as_of = [t0 + d * day for d in (5, 10, 30, 50, 59, 70)]
    expected_open = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    expected_days = [np.nan, 0.0, 20.0, np.nan, np.nan, 10.0]
    spec = _spec(leads, events, outcomes)
    snapshots = pd.DataFrame({c.LEAD_ID: ["a"] * len(as_of), AS_OF: as_of})
    table = compute_features(spec, leads, events, outcomes, snapshots, open_deals=open_deals)
    np.testing.assert_array_equal(table["open_opportunity"], expected_open)
    np.testing.assert_array_equal(table["open_opportunity_days"], expected_days)
    engine = OnlineEngine(spec)
    for i, moment in enumerate(as_of):
        online = _online_row(engine, leads, events, outcomes, "a", moment, None, open_deals)
        assert online["open_opportunity"] == expected_open[i]
        assert online["open_opportunity_days"] == pytest.approx(expected_days[i], nan_ok=True)
    # Without open dates there is no open-opportunity feature at all.
    assert "open_opportunity" not in build_feature_spec([], ["web_visit"], PARAMS).names


def test_known_values_for_a_hand_built_lead() -> None:
    t0 = pd.Timestamp("2025-03-01", tz="UTC")
    leads = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["a"], dtype="str"),
            c.CREATED_AT: [t0 - pd.Timedelta(days=100)],
            c.ACCOUNT_ID: pd.Series([None], dtype="str"),
            "industry": pd.Series(["saas"], dtype="str"),
            "annual_revenue": [1.0],
            "is_customer": [0.0],
        }
    )
    # Boundaries: an event exactly at as_of counts; one exactly 30 days back is outside 30d.
    times = [t0 - pd.Timedelta(days=d) for d in (0, 2, 2.5, 10, 30, 40)]
    kinds = ["pricing_page_view", "email_open", "email_click", "email_open", "email_open",
             "email_open"]  # fmt: skip
    events = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["a"] * 6, dtype="str"),
            c.OCCURRED_AT: pd.to_datetime(times, utc=True),
            c.EVENT_TYPE: pd.Series(kinds, dtype="str"),
        }
    )
    outcomes = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["a"], dtype="str"),
            c.CLOSED_AT: [t0 - pd.Timedelta(days=50)],
            c.WON: [False],
        }
    )
    spec = _spec(leads, events, outcomes)
    snapshot = pd.DataFrame({c.LEAD_ID: ["a"], AS_OF: [t0]})
    batch = compute_features(spec, leads, events, outcomes, snapshot).iloc[0]
    online = _online_row(OnlineEngine(spec), leads, events, outcomes, "a", t0, None)
    for row in (batch, online):
        assert row["n_email_open_7d"] == 1 and row["n_email_open_30d"] == 2
        assert row["n_email_open_90d"] == 4 and row["n_pricing_page_view_7d"] == 1
        assert row["days_since_email_open"] == 2.0 and row["days_since_pricing_page_view"] == 0
        assert row["intent_pricing_page_view_30d"] == 1 and row["intent_demo_request_30d"] == 0
        assert row["email_click_rate_90d"] == pytest.approx(1 / 4)
        assert row["decay_email_open"] == pytest.approx(
            sum(2 ** (-d / 14) for d in (2, 10, 30, 40))
        )
        assert row["trend_7d_vs_28d"] == pytest.approx(3 / 7 - 2 / 28)
        assert row["active_days_30d"] == 3  # days 0, 2 (twice) and 10 back from as_of
        assert row["tenure_days"] == 100 and row["prior_lost_deals"] == 1
        assert row["is_recycled"] == 1 and row["prior_wins"] == 0
        assert math.isnan(row[COLLEAGUES]) and row["industry"] == "saas"


def test_buying_state_values_for_a_hand_built_lead() -> None:
    t0 = pd.Timestamp("2025-03-01", tz="UTC")
    leads = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["a"], dtype="str"),
            c.CREATED_AT: [t0 - pd.Timedelta(days=400)],
            c.ACCOUNT_ID: pd.Series([None], dtype="str"),
            "industry": pd.Series(["saas"], dtype="str"),
            "annual_revenue": [1.0],
            "is_customer": [0.0],
        }
    )
    # Intent at 40 and 20 days back (a gap of 20 >= 14: the run restarts at 20), then 9 and 1:
    # the current run began 20 days back. Pricing 9 days back, demo 1 day back: in order.
    days = [170, 100, 40, 20, 9, 1, 50, 45, 44, 30, 29, 5, 3]
    kinds = ["web_visit", "web_visit", "form_submit", "pricing_page_view",
             "pricing_page_view", "demo_request", "email_send", "email_send", "email_open",
             "email_send", "email_open", "email_send", "email_click"]  # fmt: skip
    events = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["a"] * len(days), dtype="str"),
            c.OCCURRED_AT: pd.to_datetime([t0 - pd.Timedelta(days=d) for d in days], utc=True),
            c.EVENT_TYPE: pd.Series(kinds, dtype="str"),
        }
    )
    outcomes = pd.DataFrame({c.LEAD_ID: pd.Series([], dtype="str"), c.CLOSED_AT: [], c.WON: []})
    outcomes[c.CLOSED_AT] = pd.to_datetime(outcomes[c.CLOSED_AT], utc=True)
    spec = _spec(leads, events, outcomes)
    later = t0 + pd.Timedelta(days=25)  # last intent 26 days back: no run; pricing out of 30d
    snapshots = pd.DataFrame({c.LEAD_ID: ["a", "a"], AS_OF: [t0, later]})
    batch = compute_features(spec, leads, events, outcomes, snapshots)
    engine = OnlineEngine(spec)
    for as_of, row in zip((t0, later), batch.itertuples(index=False), strict=True):
        online = _online_row(engine, leads, events, outcomes, "a", as_of, None)
        for name in (
            "burst_14d_vs_180d",
            "days_since_intent_burst_start",
            "pricing_then_demo_30d",
            "email_open_rate_60d",
            "email_clicks_per_send_60d",
        ):
            left, right = getattr(row, name), online[name]
            assert left == right or (math.isnan(left) and math.isnan(right)), name
    now, then = batch.iloc[0], batch.iloc[1]
    # Engagement (not sends): 3 events in 14 days (pricing, demo, click); 9 in 180 days.
    assert now["burst_14d_vs_180d"] == pytest.approx((3 / 14) / (10 / 180))
    assert now["days_since_intent_burst_start"] == 20
    assert math.isnan(then["days_since_intent_burst_start"])
    assert now["pricing_then_demo_30d"] == 1 and then["pricing_then_demo_30d"] == 0
    # 60 days back: 4 sends, 2 opens, 1 click.
    assert now["email_open_rate_60d"] == pytest.approx(2 / 4)
    assert now["email_clicks_per_send_60d"] == pytest.approx(1 / 4)


def _common_as_of_snapshots(leads: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    existing = leads.loc[leads[c.CREATED_AT] <= as_of, c.LEAD_ID]
    return pd.DataFrame({c.LEAD_ID: existing.to_numpy(), AS_OF: as_of})


def test_events_and_outcomes_after_as_of_change_no_feature(small_crm) -> None:
    leads, events, outcomes = small_crm
    spec = _spec(leads, events, outcomes)
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
        old = _online_row(engine, leads, events, outcomes, lead_id, as_of, colleagues)
        new = _online_row(
            engine, leads, more_events, more_outcomes, lead_id, as_of, colleagues, later_open
        )
        assert _mismatches(spec, old, pd.Series(new)) == []


def test_shuffling_rows_changes_nothing(small_crm) -> None:
    leads, events, outcomes = small_crm
    spec = _spec(leads, events, outcomes)
    snapshots = _random_snapshots(leads, 300, seed=9)
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
    assert _mismatches(spec, straight, pd.Series(mixed)) == []


def test_unknown_event_types_count_as_engagement_only(crm_factory) -> None:
    spec = _spec(*crm_factory(20, seed=1))
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
    spec = _spec(leads, events, outcomes)
    events = events.copy()
    events.loc[events.index[::7], c.EVENT_TYPE] = "brand_new_type"
    snapshots = _random_snapshots(leads, 300, seed=4)
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
    spec = _spec(leads, events, outcomes)
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
    snapshots = _random_snapshots(leads, 5, seed=1)
    snapshots.loc[2, AS_OF] = pd.NaT
    with pytest.raises(DataValidationError, match=r"snapshots\.as_of: missing as_of"):
        compute_features(spec, leads, events, outcomes, snapshots)
    orphan = events.copy()
    orphan.loc[0, c.LEAD_ID] = "nobody"
    with pytest.raises(DataValidationError, match=r"events\.lead_id.*'nobody'"):
        compute_features(spec, leads, orphan, outcomes, _random_snapshots(leads, 5, seed=1))
    # Every table's lead ids are looked up at once: one error names each bad table.
    stray = outcomes.copy()
    stray.loc[stray.index[-1], c.LEAD_ID] = "stranger"
    with pytest.raises(DataValidationError) as raised:
        compute_features(spec, leads, orphan, stray, _random_snapshots(leads, 5, seed=1))
    assert [(p.table, p.column, p.examples) for p in raised.value.problems] == [
        ("events", c.LEAD_ID, ("nobody",)), ("outcomes", c.LEAD_ID, ("stranger",))
    ]  # fmt: skip
    untyped = events.copy()
    untyped.loc[3, c.EVENT_TYPE] = None
    with pytest.raises(DataValidationError, match=r"events\.event_type: missing event type"):
        compute_features(spec, leads, untyped, outcomes, _random_snapshots(leads, 5, seed=1))


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
    snapshots = _random_snapshots(leads, 50, seed=4)
    table = compute_features(spec, leads, events, outcomes, snapshots)
    engine = OnlineEngine(spec)
    for _, row in table.iterrows():
        online = _online_row(engine, leads, events, outcomes, row[c.LEAD_ID], row[AS_OF], None)
        assert list(online) == spec.names and _mismatches(spec, online, row) == []


def test_pipeline_writes_parquet_and_schema_that_round_trip(
    small_crm, dataset_factory, tmp_path
) -> None:
    from features.trainset.feature_table import (
        build_feature_table,
        schema_path,
        write_feature_table,
    )

    data = dataset_factory(*small_crm)
    calls: list[int] = []
    table = build_feature_table(data, PARAMS, calls.append)
    assert sum(calls) == len(small_crm[0])
    assert list(table.columns[:3]) == [c.LEAD_ID, AS_OF, c.LABEL]
    spec = FeatureSpec.from_dict(table.attrs["spec"])
    out = write_feature_table(table, spec, tmp_path / "features.parquet")
    again = pd.read_parquet(out)
    pd.testing.assert_frame_equal(again, table, check_dtype=False, check_index_type=False)
    schema = json.loads(schema_path(out).read_text())
    assert FeatureSpec.from_dict(schema["spec"]) == spec and schema["rows"] == len(table)
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "features.parquet",
        "features.parquet.schema.json",
    ]


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
        assert _mismatches(spec, online, row) == []


def test_batch_and_online_agree_on_500_simulated_snapshots(tmp_path) -> None:
    """The same parity on the simulator's CRM, with every declared attribute of the demo config
    and the snapshot grid the training set uses."""
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from features.trainset.feature_table import build_snapshots_for, feature_spec_for

    simulate_crm(SimulationConfig(n_leads=1500, seed=5), tmp_path)
    dataset = load_dataset(load_config("demo"), tmp_path)
    leads, events, outcomes = dataset.leads, dataset.events, dataset.outcomes
    spec = feature_spec_for(dataset, PARAMS)
    assert "open_opportunity" in spec.names and len(dataset.open_deals) > 0
    grid = build_snapshots_for(dataset, PARAMS).labelled
    snapshots = grid.sample(500, random_state=1).reset_index(drop=True)
    table = compute_features(
        spec, leads, events, outcomes, snapshots[[c.LEAD_ID, AS_OF]],
        open_deals=dataset.open_deals,
    )  # fmt: skip
    engine = OnlineEngine(spec)
    problems = []
    for i, row in table.iterrows():
        colleagues = _colleagues_reference(leads, events, row[c.LEAD_ID], row[AS_OF])
        online = _online_row(
            engine, leads, events, outcomes, row[c.LEAD_ID], row[AS_OF], colleagues,
            dataset.open_deals,
        )  # fmt: skip
        problems += [f"row {i} {p}" for p in _mismatches(spec, online, row)]
    assert problems == []
    assert (table["n_pricing_page_view_30d"] > 0).any() and (table["prior_lost_deals"] > 0).any()


def _by_key(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values([c.LEAD_ID, AS_OF], kind="stable").reset_index(drop=True)


def _assert_stream_equals_table(dataset, spec, **options) -> None:
    """Rows laid and labelled inside the engine, chunk by chunk, equal the snapshot table's
    rows through compute_features (``build_snapshots``, its lead-id strings hashed back to
    leads): value for value, dtype for dtype; the summaries agree."""
    from features.trainset.feature_table import build_snapshots_for, stream_feature_table

    snapshots = build_snapshots_for(dataset, PARAMS)
    expected = compute_features(
        spec, dataset.leads, dataset.events, dataset.outcomes, snapshots.labelled,
        open_deals=dataset.open_deals,
    )  # fmt: skip
    expected.insert(2, c.LABEL, snapshots.labelled[c.LABEL].to_numpy())
    counts = SnapshotCounts()
    parts = list(stream_feature_table(dataset, PARAMS, spec=spec, counts=counts, **options))
    streamed = pd.concat(parts, ignore_index=True)
    assert len(parts) > 1
    assert counts.summary() == snapshots.summary()
    # Rows come lead by lead (an account's leads together), each lead's in time order.
    assert streamed.groupby(c.LEAD_ID, sort=False)[AS_OF].is_monotonic_increasing.all()
    assert (
        streamed[c.LEAD_ID].nunique() == (streamed[c.LEAD_ID] != streamed[c.LEAD_ID].shift()).sum()
    )
    pd.testing.assert_frame_equal(_by_key(streamed), _by_key(expected), check_exact=True)


@pytest.mark.parametrize(
    "grid",
    [
        SnapshotConfig(),
        SnapshotConfig(repeat_purchase=True, every_days=14),
        SnapshotConfig(grid="at_creation"),
        SnapshotConfig(max_lead_age_days=120, every_days=10),
    ],
    ids=["periodic", "repeat-purchase", "at-creation", "max-age"],
)
def test_streamed_training_rows_equal_the_snapshot_table(crm_factory, dataset_factory, grid):
    leads, events, outcomes = crm_factory(400, seed=11)
    dataset = dataset_factory(leads, events, outcomes, snapshots=grid)
    spec = _spec(leads, events, outcomes)
    _assert_stream_equals_table(dataset, spec, chunk_leads=37, threads=2)


def test_streamed_training_rows_equal_the_table_on_the_simulator(tmp_path) -> None:
    """With open opportunities, accounts and every attribute of the demo config."""
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from features.trainset.feature_table import feature_spec_for

    simulate_crm(SimulationConfig(n_leads=1200, seed=8), tmp_path)
    dataset = load_dataset(load_config("demo"), tmp_path)
    spec = feature_spec_for(dataset, PARAMS)
    assert "open_opportunity" in spec.names and len(dataset.open_deals) > 0
    _assert_stream_equals_table(dataset, spec, chunk_leads=100)


def test_streamed_write_is_atomic_when_a_chunk_fails(small_crm, dataset_factory, tmp_path):
    """A failure after some chunks were written leaves the previous file as it was and no
    temporary file; a complete stream reads back as the rows it was given."""
    from features.trainset.feature_table import stream_feature_table, write_feature_stream

    dataset = dataset_factory(*small_crm)
    spec = _spec(*small_crm)
    out = tmp_path / "features.parquet"
    parts = list(stream_feature_table(dataset, PARAMS, spec=spec, chunk_leads=50))
    assert write_feature_stream(iter(parts), spec, out) == sum(len(p) for p in parts)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.concat(parts, ignore_index=True))
    before = out.read_bytes()

    def failing():
        yield parts[0]
        raise DataValidationError([])

    with pytest.raises(DataValidationError):
        write_feature_stream(failing(), spec, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "features.parquet",
        "features.parquet.schema.json",
    ]
