"""The report's tables on a hand-made CRM whose every number can be counted by hand:
campaign and channel effectiveness with Wilson intervals and small rows kept, lead sources,
costs per result, touches to conversion and the monthly cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from marketing_support import at, dataset_of

from evaluation.marketing.marketing_report import MarketingOptions, build_marketing_report
from evaluation.metrics import wilson_interval
from features.ingest import contracts as c
from features.ingest.costs_table import PERIOD, SPEND


def _crm(costs: pd.DataFrame | None = None):
    """Three leads. A: two sends of "spring" and a webinar, then sales-ready (day 40), a won
    deal of 1000 (day 60). B: one "spring" open, sales-ready at day 30, deal lost. C: touched
    by "autumn" only, never sales-ready."""
    return dataset_of(
        leads=[("A", 0, "web"), ("B", 0, "event"), ("C", 40, "web")],
        events=[
            ("A", 10, "email_send", "spring", "email"),
            ("A", 20, "email_send", "spring", "email"),
            ("A", 25, "webinar_attended", None, "webinar"),
            ("A", 40, "demo_request", None, "web"),
            ("B", 15, "email_open", "spring", "email"),
            ("B", 30, "pricing_page_view", None, "web"),
            ("C", 45, "email_send", "autumn", "email"),
            ("C", 46, "email_bounce", "autumn", "email"),
        ],
        deals=[("A", 45, 60, True, 1000.0), ("B", 35, 50, False)],
        costs=costs,
    )  # fmt: skip


def _costs(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.CAMPAIGN: pd.Series([r[0] for r in rows], dtype="str"),
            c.CHANNEL: pd.Series([r[1] for r in rows], dtype="str"),
            PERIOD: pd.Series([at(r[2]) for r in rows], dtype=c.TIMESTAMP_DTYPE),
            SPEND: [float(r[3]) for r in rows],
        }
    )


def test_campaign_and_channel_tables() -> None:
    tables = build_marketing_report(_crm(), MarketingOptions(lookback_days=60)).tables
    ready = tables["campaign_sales_ready"].set_index("campaign")
    assert list(ready.index) == ["spring", "autumn", "(none)"]  # most credit first, none last
    assert ready.loc[
        "spring", ["touches", "leads_touched", "sales_ready_after_touch"]
    ].tolist() == [3, 2, 2]
    # autumn: one send (the bounce is no touch), nobody sales-ready after it: small, kept.
    assert ready.loc[
        "autumn", ["touches", "leads_touched", "sales_ready_after_touch"]
    ].tolist() == [1, 1, 0]
    assert ready["small"].all()  # three leads: every row is small
    low, high = wilson_interval(2, 2)
    assert ready.loc["spring", ["conversion", "conversion_low", "conversion_high"]].tolist() == (
        pytest.approx([1.0, low, high])
    )
    # A: spring, spring, webinar (no campaign) -> 0.4 / 0.2 / 0.4; B: one spring touch.
    assert ready.loc["spring", "sales_ready_first_touch"] == 2.0
    assert ready.loc["spring", "sales_ready_last_touch"] == 1.0
    assert ready.loc["spring", "sales_ready_position_based"] == pytest.approx(1.6)
    assert ready.loc["(none)", "sales_ready_position_based"] == pytest.approx(0.4)
    assert ready.loc["spring", "sales_ready_per_1k_touches"] == pytest.approx(1600 / 3)
    # Days from spring's first touch in each journey to sales-ready: A 30, B 15.
    assert ready.loc["spring", "median_days_to_sales_ready"] == pytest.approx(22.5)
    revenue = tables["campaign_revenue"].set_index("campaign")
    # A's win: spring, spring, webinar, demo request -> 0.4, 0.1, 0.1, 0.4 of 1000.
    assert revenue.loc["spring", "won_position_based"] == pytest.approx(0.5)
    assert revenue.loc["spring", "revenue_position_based"] == pytest.approx(500.0)
    assert revenue.loc["(none)", "revenue_last_touch"] == pytest.approx(1000.0)
    assert revenue.loc["spring", "won_deals_after_touch"] == 1
    assert revenue.loc["spring", "median_days_to_won"] == pytest.approx(50.0)
    channel = tables["channel_sales_ready"].set_index("channel")
    assert channel.loc["email", "sales_ready_position_based"] == pytest.approx(1.6)
    assert channel.loc["webinar", "sales_ready_position_based"] == pytest.approx(0.4)
    # The demo request and the pricing view are touches, but they are the moments themselves:
    # no credit for sales-ready (the demo request gets its share of A's win).
    assert channel.loc["web", ["touches", "sales_ready_position_based"]].tolist() == [2, 0.0]
    web_revenue = tables["channel_revenue"].set_index("channel").loc["web"]
    assert web_revenue["revenue_position_based"] == pytest.approx(400.0)


def test_lead_source_table_and_touch_counts() -> None:
    tables = build_marketing_report(_crm(), MarketingOptions(lookback_days=60)).tables
    source = tables["lead_source"].set_index("lead_source")
    assert source.loc["all leads", ["leads", "sales_ready_leads", "opportunities", "won_deals"]
                      ].tolist() == [3, 2, 2, 1]  # fmt: skip
    assert source.loc["web", ["leads", "sales_ready_leads", "won_deals"]].tolist() == [2, 1, 1]
    assert source.loc["web", "revenue_won"] == 1000.0
    assert source.loc["web", "median_days_to_sales_ready"] == pytest.approx(40.0)
    assert source.loc["event", "median_days_to_won"] != source.loc["event", "median_days_to_won"]
    summary = tables["touches_summary"].set_index(["stage", "lead_source"])
    # Journeys before sales-ready: A 3 touches (2 sends), B 1; before A's win: 4.
    assert summary.loc[("sales-ready", "all leads"), "journeys"] == 2
    assert summary.loc[("sales-ready", "all leads"), "mean_touches"] == 2.0
    assert summary.loc[("sales-ready", "all leads"), "mean_sends"] == 1.0
    assert summary.loc[("won", "all leads"), "median"] == 4.0
    histogram = tables["touches_histogram"].set_index("touches")
    assert histogram.loc["1", "share_sales_ready"] == 0.5
    assert histogram.loc["3-4", "share_won"] == 1.0
    assert histogram["share_sales_ready"].sum() == pytest.approx(1.0)


def test_costs_per_result_and_spend_without_results() -> None:
    costs = _costs([
        ("spring", "email", 0, 100), ("spring", None, 31, 60),  # campaign only: its channel
        ("autumn", "email", 31, 50), ("summer", "email", 31, 70),  # summer touched nobody
        (None, "webinar", 0, 80),
    ])  # fmt: skip
    tables = build_marketing_report(_crm(costs), MarketingOptions(lookback_days=60)).tables
    campaign = tables["campaign_costs"].set_index("campaign")
    assert campaign.loc["spring", "spend"] == 160.0
    assert campaign.loc["spring", "cost_per_lead_touched"] == 80.0
    assert campaign.loc["spring", "cost_per_sales_ready"] == pytest.approx(100.0)
    assert campaign.loc["spring", "cost_per_won_deal"] == pytest.approx(320.0)
    assert campaign.loc["spring", "return_on_spend"] == pytest.approx(500 / 160)
    assert np.isnan(campaign.loc["summer", "cost_per_sales_ready"])
    assert campaign.loc["summer", ["spend", "leads_touched"]].tolist() == [70.0, 0]
    assert campaign.loc["summer", "return_on_spend"] == 0.0
    channel = tables["channel_costs"].set_index("channel")
    assert channel.loc["email", "spend"] == 280.0  # 100 + 60 (spring's channel) + 50 + 70
    assert channel.loc["webinar", "spend"] == 80.0
    assert channel.loc["webinar", "cost_per_sales_ready"] == pytest.approx(200.0)
    activity = tables["monthly_activity"].set_index("month")
    assert activity.loc["2024-01", "spend"] == 180.0 and activity.loc["2024-02", "spend"] == 180.0
    # B became sales-ready on day 30 (January), A on day 40 (February).
    assert activity.loc["2024-02", "spend_per_sales_ready"] == pytest.approx(180.0)


def test_cohorts_stages_and_reentries() -> None:
    dataset = dataset_of(
        leads=[("A", 0, "web"), ("B", 5, "web"), ("C", 40, "event"), ("D", 300, "web")],
        events=[
            ("A", 10, "pricing_page_view"), ("A", 80, "form_submit"),  # back after its win
            ("B", 20, "demo_request"),  # lost deal, never back
            ("C", 50, "pricing_page_view"),  # sales-ready, no deal: quiet 90 days later
            ("C", 200, "pricing_page_view"),  # re-engages after going quiet
            ("D", 301, "web_visit"),
        ],
        deals=[("A", 20, 60, True, 10.0), ("B", 25, 40, False), ("A", 90, 100, False)],
        open_deals=[("C", 210)],
    )  # fmt: skip
    tables = build_marketing_report(dataset, MarketingOptions(quiet_days=90)).tables
    stages = tables["cohort_stages"].set_index("month")
    jan = stages.loc["2024-01"]
    assert jan[["new_leads", "reached_sales_ready", "reached_opportunity", "won", "lost"]
               ].tolist() == [2, 2, 2, 1, 2]  # fmt: skip
    # A's last deal was lost: lost and recycled; B lost. C (February) has an open deal now.
    assert jan[[f"now_{s}" for s in ("nurture", "sales_ready", "opportunity", "won",
                                      "lost_recycled")]].tolist() == [0, 0, 0, 0, 2]  # fmt: skip
    assert stages.loc["2024-02", "now_opportunity"] == 1
    assert stages.loc["2024-10", "now_nurture"] == 1 and stages.loc["2024-10", "new_leads"] == 1
    assert stages.loc["2024-01", "sales_ready_within_90d"] == 1.0
    assert np.isnan(stages.loc["2024-10", "sales_ready_within_90d"])  # not 90 days old yet
    times = tables["cohort_times"].set_index("month")
    assert times.loc["2024-01", "re_entries_after_won"] == 1
    assert times.loc["2024-01", "re_entries_to_opportunity"] == 1
    assert times.loc["2024-02", "re_entries_after_quiet"] == 1
    assert times.loc["2024-02", "sales_ready_loss_rate"] == 0.5  # quiet once, then an opp
    assert times.loc["2024-01", "opportunity_loss_rate"] == pytest.approx(2 / 3)
    # A: 10 days twice (days 10 -> 20, 80 -> 90), B: 5 days (20 -> 25).
    assert times.loc["2024-01", "days_sales_ready_to_opportunity"] == pytest.approx(10.0)
    activity = tables["monthly_activity"].set_index("month")
    assert activity["new_leads"].sum() == 4 and activity.loc["2024-03", "won_deals"] == 1
    assert (
        activity["sales_ready_first"].sum() == 3 and activity["sales_ready_re_entries"].sum() == 2
    )


def test_a_crm_without_touches_or_deals_still_gets_its_page(tmp_path) -> None:
    from evaluation.marketing.marketing_report import write_marketing_report

    report = build_marketing_report(dataset_of(leads=[("A", 0, "web"), ("B", 3, None)]))
    assert report.tables["campaign_sales_ready"].empty and report.facts["sales_ready_moments"] == 0
    assert report.tables["lead_source"]["leads"].tolist() == [2, 1, 1]
    html = write_marketing_report(report, tmp_path).read_text()
    assert "No touch in this dataset carries a campaign" in html
    assert "This dataset has no events" in html and "No costs table" in html
