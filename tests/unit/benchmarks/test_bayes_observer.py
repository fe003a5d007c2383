"""The observer that bounds what a model can reach on the simulator (benchmarks/observer_bound.py)
must itself be right: told each lead's hidden rates, it is certain exactly where the truth is
an open opportunity, and its P(in market) is calibrated and ranks who truly is in market."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.simulation.oracle import IN, OPP
from features.simulation.simulation_config import SimulationConfig
from features.simulation.simulator import simulate_crm

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


@pytest.fixture
def bound(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import observer_bound

    yield observer_bound
    for name in ("observer_bound", "_bayes_observer"):
        sys.modules.pop(name, None)


def test_told_the_hidden_rates_the_observer_knows_the_buying_state(bound, tmp_path) -> None:
    config = SimulationConfig(n_leads=4000, seed=5)
    simulate_crm(config, tmp_path)
    as_of = pd.Timestamp(config.start, tz="UTC") + pd.Timedelta(days=600)
    leads = pd.read_parquet(tmp_path / "leads.parquet")
    leads = leads[leads["created_at"] < as_of].set_index("lead_id")
    ids = pd.Index(leads.index)
    truth = pd.read_parquet(tmp_path / "truth.parquet")
    now = truth[(truth["start"] <= as_of) & (truth["end"] > as_of)].set_index("lead_id")
    true_state = now["state"].reindex(ids).to_numpy()
    drawn = truth.drop_duplicates("lead_id").set_index("lead_id").loc[ids]
    lam0 = json.loads((tmp_path / "simulation.json").read_text())["opportunity_base_rate"]
    rates = bound.hidden_rates(
        config, lam0, drawn["fit"].to_numpy(), leads["is_customer"].to_numpy(bool),
        drawn["engagement_propensity"].to_numpy(),
    )  # fmt: skip
    obs = bound.observations(tmp_path, ids, as_of, config)
    created = leads["created_at"].astype("int64").to_numpy() / bound.DAY_NS
    _, state, probability = bound.observe(config, obs, as_of.value / bound.DAY_NS, created, rates)

    np.testing.assert_allclose(state.sum(axis=1), 1.0, atol=1e-9)
    assert ((state[:, 3] == 1.0) == (true_state == OPP)).all()
    searching = true_state != OPP
    in_market = state[searching, 1] + state[searching, 2]
    truly_in = true_state[searching] == IN
    assert 0.05 < truly_in.mean() < 0.5  # the check below has both kinds of lead to rank
    assert abs(in_market.mean() - truly_in.mean()) < 0.02
    assert roc_auc_score(truly_in, in_market) > 0.75
    assert ((probability > 0) & (probability < 1)).all()
