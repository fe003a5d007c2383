"""Batch and online engines give the same features: random and simulated snapshots, account roll-ups, any chunking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_checks import (
    COLLEAGUES,
    PARAMS,
    colleagues_reference,
    mismatches,
    online_row,
    random_snapshots,
    spec_for,
)

from features.batch.batch_engine import compute_features
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.online.online_engine import OnlineEngine
from features.spec import PASSIVE_EVENT_TYPES


def test_batch_and_online_agree_on_600random_snapshots(crm_factory, open_deals_factory) -> None:
    leads, events, outcomes = crm_factory(400, seed=11)
    open_deals = open_deals_factory(leads, seed=11)
    spec = spec_for(leads, events, outcomes)
    snapshots = random_snapshots(leads, 600, seed=3)
    table = compute_features(
        spec, leads, events, outcomes, snapshots, chunk_leads=97, open_deals=open_deals
    )
    assert list(table.columns) == [c.LEAD_ID, AS_OF, *spec.names]
    engine = OnlineEngine(spec)
    problems = []
    for i, row in table.iterrows():
        expected = colleagues_reference(leads, events, row[c.LEAD_ID], row[AS_OF])
        assert row[COLLEAGUES] == pytest.approx(expected, nan_ok=True), i
        online = online_row(
            engine, leads, events, outcomes, row[c.LEAD_ID], row[AS_OF], expected, open_deals
        )
        problems += [f"row {i} {p}" for p in mismatches(spec, online, row)]
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
    spec = spec_for(leads, events, outcomes)
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
            random_snapshots(leads, 300, seed=9),
        ],
        ignore_index=True,
    )
    table = compute_features(spec, leads, events, outcomes, snapshots, chunk_leads=50)
    expected = [
        colleagues_reference(leads, events, lead, as_of)
        for lead, as_of in zip(table[c.LEAD_ID], table[AS_OF], strict=True)
    ]
    np.testing.assert_array_equal(table[COLLEAGUES].to_numpy(), np.array(expected))
    big = table[c.LEAD_ID].isin(leads[c.LEAD_ID].iloc[:120])
    assert table.loc[big, COLLEAGUES].max() > 5  # the large account is really engaged
    assert (table.loc[table[c.LEAD_ID].isin(leads[c.LEAD_ID].iloc[200:208]), COLLEAGUES] > 0).any()


def test_batch_result_does_not_depend_on_chunking(small_crm) -> None:
    leads, events, outcomes = small_crm
    spec = spec_for(leads, events, outcomes)
    snapshots = random_snapshots(leads, 400, seed=5)
    whole = compute_features(spec, leads, events, outcomes, snapshots, chunk_leads=10_000)
    chunked = compute_features(spec, leads, events, outcomes, snapshots, chunk_leads=7)
    pd.testing.assert_frame_equal(whole, chunked, rtol=1e-12)
    # Chunks computed on 3 threads land in the same rows with the same values.
    threaded = compute_features(spec, leads, events, outcomes, snapshots, chunk_leads=7, threads=3)
    pd.testing.assert_frame_equal(chunked, threaded, rtol=0, atol=0)


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
        colleagues = colleagues_reference(leads, events, row[c.LEAD_ID], row[AS_OF])
        online = online_row(
            engine, leads, events, outcomes, row[c.LEAD_ID], row[AS_OF], colleagues,
            dataset.open_deals,
        )  # fmt: skip
        problems += [f"row {i} {p}" for p in mismatches(spec, online, row)]
    assert problems == []
    assert (table["n_pricing_page_view_30d"] > 0).any() and (table["prior_lost_deals"] > 0).any()
