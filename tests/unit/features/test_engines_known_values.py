"""Features of hand-built leads, by both engines, against values counted by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from engine_checks import (
    COLLEAGUES,
    PARAMS,
    online_row,
    spec_for,
)

from features.batch.batch_engine import compute_features
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.online.online_engine import OnlineEngine
from features.spec import build_feature_spec


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
    spec = spec_for(leads, events, outcomes)
    snapshots = pd.DataFrame({c.LEAD_ID: ["a"] * len(as_of), AS_OF: as_of})
    table = compute_features(spec, leads, events, outcomes, snapshots, open_deals=open_deals)
    np.testing.assert_array_equal(table["open_opportunity"], expected_open)
    np.testing.assert_array_equal(table["open_opportunity_days"], expected_days)
    engine = OnlineEngine(spec)
    for i, moment in enumerate(as_of):
        online = online_row(engine, leads, events, outcomes, "a", moment, None, open_deals)
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
    spec = spec_for(leads, events, outcomes)
    snapshot = pd.DataFrame({c.LEAD_ID: ["a"], AS_OF: [t0]})
    batch = compute_features(spec, leads, events, outcomes, snapshot).iloc[0]
    online = online_row(OnlineEngine(spec), leads, events, outcomes, "a", t0, None)
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
    spec = spec_for(leads, events, outcomes)
    later = t0 + pd.Timedelta(days=25)  # last intent 26 days back: no run; pricing out of 30d
    snapshots = pd.DataFrame({c.LEAD_ID: ["a", "a"], AS_OF: [t0, later]})
    batch = compute_features(spec, leads, events, outcomes, snapshots)
    engine = OnlineEngine(spec)
    for as_of, row in zip((t0, later), batch.itertuples(index=False), strict=True):
        online = online_row(engine, leads, events, outcomes, "a", as_of, None)
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
