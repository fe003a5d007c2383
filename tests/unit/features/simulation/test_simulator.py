"""Simulator: deterministic, honours its contract, realistic rates, a calibrated oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import expm
from scipy.stats import spearmanr

from features.ingest.dataset_config import load_config
from features.ingest.loaders import load_dataset
from features.simulation.oracle import expm_batched, generator_matrices, oracle_probability
from features.simulation.simulation_config import SimulationConfig
from features.simulation.simulator import simulate_crm
from features.spec import FeatureParams
from features.trainset.feature_table import build_snapshots_for

TABLES = ("leads", "events", "outcomes", "truth", "costs")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("sim")
    summary = simulate_crm(SimulationConfig(n_leads=6000, seed=11, chunk_size=2500), out)
    return out, summary


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}


def test_same_seed_same_tables_different_seed_different(tmp_path: Path, sim) -> None:
    folder, _ = sim
    again = tmp_path / "again"
    simulate_crm(SimulationConfig(n_leads=6000, seed=11, chunk_size=2500), again)
    first, second = _read(folder), _read(again)
    for name in TABLES:
        pd.testing.assert_frame_equal(first[name], second[name])
    # Readable by others, like every output (mkstemp alone makes 0600).
    assert {(again / f"{name}.parquet").stat().st_mode & 0o777 for name in TABLES} == {0o644}
    assert (again / "simulation.json").stat().st_mode & 0o777 == 0o644
    other = tmp_path / "other"
    simulate_crm(SimulationConfig(n_leads=6000, seed=12, chunk_size=2500), other)
    assert not first["events"].equals(pd.read_parquet(other / "events.parquet"))


def test_tables_honour_the_contract(sim) -> None:
    folder, summary = sim
    t = _read(folder)
    leads, events, outcomes = t["leads"], t["events"], t["outcomes"]
    assert leads["lead_id"].is_unique and len(leads) == 6000 == summary.leads
    assert str(leads["created_at"].dtype) == "datetime64[ns, UTC]"
    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2025-12-31", tz="UTC")
    for column in (leads["created_at"], events["occurred_at"], outcomes["closed_at"]):
        assert column.min() >= start and column.max() < end
    created = events["lead_id"].map(leads.set_index("lead_id")["created_at"])
    assert (events["occurred_at"] >= created).all()
    # Deals still open at the end have an open date and nothing else; the rest closed after
    # they opened, and only won deals carry an amount.
    still_open = outcomes["closed_at"].isna()
    assert still_open.sum() == summary.open_deals > 0
    assert outcomes.loc[still_open, "opened_at"].notna().all()
    assert outcomes.loc[still_open, ["won", "amount"]].isna().all().all()
    closed = outcomes[~still_open]
    assert len(closed) == summary.outcomes
    assert (closed["closed_at"] >= closed["opened_at"]).all()
    assert (closed.loc[closed["won"].astype(bool), "amount"] > 0).all()
    assert closed.loc[~closed["won"].astype(bool), "amount"].isna().all()
    assert leads.groupby("account_id").size().mean() > 2  # several leads per account
    assert 0.05 < leads["is_customer"].mean() < 0.25
    assert leads["annual_revenue"].isna().mean() > 0.05  # CRM gaps exist
    assert set(events["event_type"]) == {
        "email_send", "email_open", "email_click", "email_bounce", "unsubscribe", "web_visit",
        "pricing_page_view", "content_download", "webinar_attended", "form_submit",
        "demo_request",
    }  # fmt: skip
    # Nothing is sent to a lead after it unsubscribed.
    unsub = events[events["event_type"] == "unsubscribe"].groupby("lead_id")["occurred_at"].min()
    sends = events[events["event_type"] == "email_send"]
    later = sends["occurred_at"] > sends["lead_id"].map(unsub)
    assert not later.any()
    # The shipped demo config reads it without dropping a row.
    loaded = load_dataset(load_config("demo"), folder, strict=True)
    assert loaded.report.dropped == []
    assert len(loaded.outcomes) == summary.outcomes and len(loaded.open_deals) == summary.open_deals


def test_rates_fall_in_their_bands(sim) -> None:
    folder, summary = sim
    assert abs(summary.conversion_rate - 0.10) < 0.025
    assert 5.0 <= summary.mean_touches_before_purchase <= 7.5
    assert 0.15 < summary.win_rate < 0.5
    assert summary.opportunity_lift_top_vs_bottom_fit > 3  # well-fitting leads buy more
    t = _read(folder)
    closed = t["outcomes"].dropna(subset=["closed_at"]).astype({"won": bool})
    buyers = set(closed.loc[closed["won"], "lead_id"])
    recycled = closed.groupby("lead_id")["won"].agg(["size", "sum"])
    assert ((recycled["size"] > 1) & (recycled["sum"] >= 1)).any()  # lost, recycled, then won
    engaged = t["events"][t["events"]["event_type"].isin(["pricing_page_view", "demo_request"])]
    with_intent = set(engaged["lead_id"])
    rate_intent = len(buyers & with_intent) / len(with_intent)
    rate_none = len(buyers - with_intent) / (len(t["leads"]) - len(with_intent))
    assert rate_intent > 2 * rate_none  # engaged leads convert more


def test_campaigns_have_their_true_effects_and_spends(sim) -> None:
    """Every email event carries its email's campaign (web and webinar events none); the
    truth records which campaign's send moved a lead into the market, a campaign moves leads
    in the more often the larger its effect (none for the one without), and the costs table
    prices every send."""
    folder, summary = sim
    t = _read(folder)
    events, truth, costs = t["events"], t["truth"], t["costs"]
    config = summary.config
    email = events["channel"] == "email"
    assert events.loc[email, "campaign"].isin(config.campaigns).all()
    assert events.loc[~email, "campaign"].isna().all()
    caused = truth["entered_by_campaign"].dropna()
    assert set(truth.loc[caused.index, "state_name"]) == {"in_market"}
    truths = {row["campaign"]: row for row in summary.campaigns}
    assert caused.value_counts().to_dict() == {
        name: row["market_entries_caused"] for name, row in truths.items()
        if row["market_entries_caused"]
    }  # fmt: skip
    effect = np.array(config.campaign_market_entry)
    per_send = np.array([truths[n]["market_entries_caused"] / truths[n]["sends"]
                         for n in config.campaigns])  # fmt: skip
    assert per_send[effect == 0].tolist() == [0.0]
    assert spearmanr(per_send, effect).statistic > 0.95
    # Campaigns cause a large share of market entries, not all of them.
    entries = (truth["state_name"] == "in_market") & (truth["start"] > truth["start"].min())
    assert 0.25 < len(caused) / entries.sum() < 0.75
    sends = events[events["event_type"] == "email_send"]["campaign"].value_counts()
    assert sends.to_dict() == {name: row["sends"] for name, row in truths.items()}
    spend = costs[costs["campaign"].notna()].groupby("campaign")["spend"].sum()
    expected = pd.Series({n: truths[n]["spend"] for n in config.campaigns})
    assert np.allclose(spend[expected.index], expected, atol=0.01 * len(costs))
    webinars = (events["event_type"] == "webinar_attended").sum()
    assert costs.loc[costs["channel"] == "webinar", "spend"].sum() == pytest.approx(
        webinars * config.webinar_cost_per_attendee
    )
    assert costs["period"].str.fullmatch(r"\d{4}-\d{2}").all()


def test_campaign_config_is_checked() -> None:
    with pytest.raises(ValueError, match="one value per campaign"):
        SimulationConfig(campaigns=("a", "b"))
    with pytest.raises(ValueError, match="lower their effects"):
        SimulationConfig(campaign_market_entry=(0.5,) * 8)


def test_configured_conversion_is_honoured(tmp_path: Path) -> None:
    low = simulate_crm(SimulationConfig(n_leads=5000, seed=3, base_conversion=0.04), tmp_path)
    assert abs(low.conversion_rate - 0.04) < 0.015


def test_oracle_is_calibrated_against_simulated_outcomes(sim) -> None:
    folder, _ = sim
    dataset = load_dataset(load_config("demo"), folder)
    snaps = build_snapshots_for(dataset, FeatureParams()).labelled
    truth = pd.read_parquet(folder / "truth.parquet")
    p = oracle_probability(truth, snaps["lead_id"], snaps["as_of"], 90)
    assert not np.isnan(p).any()
    y = snaps["label"].to_numpy()
    assert abs(p.mean() - y.mean()) < 0.15 * y.mean()
    # By quintile of the oracle the win rate follows it, within 5 Poisson standard errors
    # (snapshots of one lead are correlated); the top quintile is ~20x the bottom one.
    order = np.argsort(p)
    rates = []
    for chunk in np.array_split(order, 5):
        expected = p[chunk].mean()
        assert abs(expected - y[chunk].mean()) < 5 * np.sqrt(expected / len(chunk))
        rates.append(y[chunk].mean())
    assert rates[-1] > 5 * rates[0]
    wrong = oracle_probability(truth, snaps["lead_id"], snaps["as_of"], 180)
    assert abs(wrong.mean() - y.mean()) > 0.3 * y.mean()


def test_oracle_is_nan_before_a_lead_exists(sim) -> None:
    folder, _ = sim
    truth = pd.read_parquet(folder / "truth.parquet")
    leads = pd.read_parquet(folder / "leads.parquet")
    lead = leads.iloc[0]
    before = lead["created_at"] - pd.Timedelta(days=1)
    p = oracle_probability(truth, [lead["lead_id"], "nobody"], [before, before], 90)
    assert np.isnan(p).all()


def test_batched_matrix_exponential_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    n = 200
    q = generator_matrices(
        rng.random(n) / 100, rng.random(n) / 30, rng.random(n) / 50, np.full(n, 1 / 30),
        rng.random(n),
    )  # fmt: skip
    a = q * (rng.random(n) * 730)[:, None, None]
    expected = np.stack([expm(m) for m in a])
    assert np.abs(expm_batched(a) - expected).max() < 1e-12


def test_failure_leaves_no_partial_files(tmp_path: Path) -> None:
    def explode(_: int) -> None:
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        simulate_crm(SimulationConfig(n_leads=3000, chunk_size=1000), tmp_path, explode)
    assert list(tmp_path.iterdir()) == []
