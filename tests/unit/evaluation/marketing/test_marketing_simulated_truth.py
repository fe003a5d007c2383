"""The marketing report on a simulated CRM: it ranks campaigns like the simulator's truth, and
the command writes a self-contained page and a CSV per table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import spearmanr
from typer.testing import CliRunner

from evaluation.marketing.marketing_report import build_marketing_report, write_marketing_report
from features.ingest.dataset_config import load_config
from features.ingest.loaders import load_dataset
from features.simulation.simulation_config import SimulationConfig
from features.simulation.simulator import simulate_crm

LEADS = 20_000


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("crm")
    summary = simulate_crm(SimulationConfig(n_leads=LEADS, seed=42), folder)
    dataset = load_dataset(load_config("demo"), folder)
    return folder, summary, dataset, build_marketing_report(dataset)


def test_position_based_ranking_agrees_with_the_true_effects(simulated) -> None:
    """Campaigns ranked by position-based sales-ready leads per touch against their true
    effect per touch (the chance a send moves a lead into the market). At 100k leads the
    ranking agrees at Spearman 0.98 (benchmarks/marketing.py). Here, at 20k leads, seeds 1-4
    and 42 gave 0.90-0.98: 0.8 leaves room for the sampling noise of a smaller CRM, while a
    ranking unrelated to the truth reaches 0.8 with 8 campaigns only ~1% of the time. Ranking
    by volume alone (touches) does not agree: the truth is in the credit per touch."""
    _, summary, _, report = simulated
    truth = {row["campaign"]: row["market_entry_per_touch"] for row in summary.campaigns}
    table = report.tables["campaign_sales_ready"].set_index("campaign").loc[list(truth)]
    effect = list(truth.values())
    assert spearmanr(table["sales_ready_per_1k_touches"], effect).statistic >= 0.8
    assert spearmanr(table["touches"], effect).statistic < 0.5


def test_the_page_and_its_tables_are_written(simulated, tmp_path: Path) -> None:
    _, _, _, report = simulated
    page = write_marketing_report(report, tmp_path)
    assert page == tmp_path / "marketing.html"
    for name, table in report.tables.items():
        written = pd.read_csv(tmp_path / f"{name}.csv", keep_default_na=False, na_values=[""])
        assert list(written.columns) == list(table.columns)
        assert len(written) == len(table) > 0, name
        numeric = table.select_dtypes("number").columns
        pd.testing.assert_frame_equal(
            written[numeric].astype(float), table[numeric].astype(float), check_exact=False
        )
    expected = {"campaign_sales_ready", "campaign_revenue", "channel_sales_ready",
                "channel_revenue", "lead_source", "campaign_costs", "channel_costs",
                "touches_summary", "touches_histogram", "cohort_stages", "cohort_times",
                "monthly_activity"}  # fmt: skip
    assert set(report.tables) == expected
    html = page.read_text()
    assert "http://" not in html and "https://" not in html  # self-contained
    assert html.count("src='data:image/png;base64,") == 5
    for text in ("What counts as sales-ready here", "first intent event", "40% to the first",
                 "Sales-ready leads by campaign", "Costs and efficiency by campaign",
                 "Touches to conversion", "Lifecycle: monthly cohorts of new leads",
                 "nurture_06", "Wilson"):  # fmt: skip
        assert text in html, text
    facts = json.loads((tmp_path / "marketing.json").read_text())
    assert facts["leads"] == LEADS and facts["sales_ready_leads"] > LEADS / 3
    assert facts["lookback_days"] == 60.0 and facts["model_version"] is None


def test_the_command_writes_the_report(simulated, tmp_path: Path) -> None:
    from leadscore.cli import app

    folder, _, _, report = simulated
    args = ["report", "marketing", "--dataset", "demo", "--data-dir", str(folder)]
    run = CliRunner().invoke(app, [*args, "--out", str(tmp_path)], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    assert "nurture_06" in run.output and "position-based" in run.output
    written = pd.read_csv(tmp_path / "campaign_sales_ready.csv")
    pd.testing.assert_series_equal(
        written["sales_ready_position_based"],
        report.tables["campaign_sales_ready"]["sales_ready_position_based"],
    )
    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path), "--source", "industry_x"])
    assert bad.exit_code == 2 and "not a categorical attribute" in bad.output
