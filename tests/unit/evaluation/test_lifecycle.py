"""Lifecycle view: stages, funnel conversion and median times on hand-built leads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.lifecycle import STAGES, lead_milestones, lifecycle_view
from features.ingest import contracts as c

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def _ts(days: list[float | None]) -> pd.Series:
    return pd.Series(
        [T0 + pd.Timedelta(days=d) if d is not None else pd.NaT for d in days],
        dtype=c.TIMESTAMP_DTYPE,
    )


def _tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Five leads, one per stage:
    L1 nurture (only opens), L2 sales-ready (pricing view day 10), L3 opportunity open,
    L4 won (demo day 4, opened day 6, closed day 20), L5 lost (deal without intent events)."""
    leads = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["L1", "L2", "L3", "L4", "L5"], dtype="str"),
            c.CREATED_AT: _ts([0, 0, 0, 0, 0]),
        }
    )
    events = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["L1", "L2", "L3", "L4", "L4"], dtype="str"),
            c.OCCURRED_AT: _ts([1, 10, 2, 4, 5]),
            c.EVENT_TYPE: pd.Series(
                ["email_open", "pricing_page_view", "demo_request", "demo_request", "web_visit"],
                dtype="str",
            ),
        }
    )
    outcomes = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["L3", "L4", "L5"], dtype="str"),
            c.OPENED_AT: _ts([8, 6, None]),
            c.CLOSED_AT: _ts([100, 20, 30]),
            c.WON: [True, True, False],
            c.AMOUNT: [1.0, 2.0, 3.0],
        }
    )
    return leads, events, outcomes


def test_stages_as_of_mid_period() -> None:
    m = lead_milestones(*_tables(), as_of=T0 + pd.Timedelta(days=50))
    assert m.set_index(c.LEAD_ID)["stage"].astype(str).to_dict() == {
        "L1": "nurture",
        "L2": "sales_ready",
        "L3": "opportunity",  # opened day 8, closes day 100: still open at day 50
        "L4": "won",
        "L5": "lost_recycled",
    }


def test_as_of_hides_the_future() -> None:
    m = lead_milestones(*_tables(), as_of=T0 + pd.Timedelta(days=5))
    stages = m.set_index(c.LEAD_ID)["stage"].astype(str)
    # Day 5: L2's pricing view (day 10) and every deal are still in the future.
    assert stages.to_dict() == {
        "L1": "nurture",
        "L2": "nurture",
        "L3": "sales_ready",
        "L4": "sales_ready",
        "L5": "nurture",
    }


def test_view_counts_funnel_and_median_days() -> None:
    view = lifecycle_view(*_tables(), as_of=T0 + pd.Timedelta(days=50))
    stages = view["stages"].set_index("stage")
    assert list(view["stages"]["stage"]) == list(STAGES)
    assert stages["leads"].tolist() == [1, 1, 1, 1, 1]
    assert stages["share"].sum() == pytest.approx(1.0)
    funnel = view["funnel"].set_index("to")
    # Sales-ready: L2 (day 10), L3 (2), L4 (4), L5 (deal, sales-ready when its deal closed, 30).
    assert funnel.loc["sales_ready", "entered"] == 5
    assert funnel.loc["sales_ready", "converted"] == 4
    assert funnel.loc["sales_ready", "median_days"] == pytest.approx(7.0)  # median(10,2,4,30)
    assert funnel.loc["opportunity", "converted"] == 3
    assert funnel.loc["opportunity", "conversion"] == pytest.approx(3 / 4)
    # Opportunity -> close: only closed deals with a known open date; L4 took 14 days.
    assert funnel.loc["won", "entered"] == 2  # L4 won, L5 lost (L3 still open)
    assert funnel.loc["won", "converted"] == 1
    assert funnel.loc["won", "loss_rate"] == pytest.approx(0.5)
    assert funnel.loc["won", "median_days"] == pytest.approx(14.0)


def test_latest_deal_decides_stage_for_recycled_leads() -> None:
    leads, events, outcomes = _tables()
    # L5 comes back and wins a second deal.
    extra = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(["L5"], dtype="str"),
            c.OPENED_AT: _ts([40]),
            c.CLOSED_AT: _ts([60]),
            c.WON: [True],
            c.AMOUNT: [5.0],
        }
    )
    both = pd.concat([outcomes, extra], ignore_index=True)
    m = lead_milestones(leads, events, both)
    assert m.set_index(c.LEAD_ID).loc["L5", "stage"] == "won"
    # Funnel times come from L5's first deal as a whole (open date unknown), never from mixing
    # the second deal's open date with the first deal's close date.
    funnel = lifecycle_view(leads, events, both)["funnel"].set_index("to")
    assert funnel.loc["won", "median_days"] == pytest.approx((14.0 + 92.0) / 2)  # L4, L3


def test_unknown_lead_and_missing_column_are_named() -> None:
    leads, events, outcomes = _tables()
    bad = outcomes.copy()
    bad.loc[0, c.LEAD_ID] = "GHOST"
    with pytest.raises(ValueError, match="GHOST"):
        lifecycle_view(leads, events, bad)
    with pytest.raises(ValueError, match=r"events: missing column\(s\) \['event_type'\]"):
        lifecycle_view(leads, events.drop(columns=[c.EVENT_TYPE]), outcomes)
    with pytest.raises(ValueError, match=r"leads.lead_id: 1 duplicate.*'L1'"):
        lifecycle_view(pd.concat([leads, leads.head(1)]), events, outcomes)


def test_vectorised_on_many_leads(crm_factory) -> None:
    leads, events, outcomes = crm_factory(3000, seed=11, events_per_lead=5.0)
    view = lifecycle_view(leads, events, outcomes)
    assert view["stages"]["leads"].sum() == len(leads)
    has_deal = leads[c.LEAD_ID].isin(outcomes[c.LEAD_ID])
    ever_won = leads[c.LEAD_ID].isin(outcomes.loc[outcomes[c.WON], c.LEAD_ID])
    funnel = view["funnel"].set_index("to")
    assert funnel.loc["opportunity", "converted"] == has_deal.sum()
    assert funnel.loc["won", "converted"] == ever_won.sum()
    assert np.isfinite(funnel.loc["sales_ready", "median_days"])
