"""Features on a real Dask LocalCluster (2 worker processes) equal the local engine's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.batch.batch_engine import compute_features
from features.batch.dask_features import compute_features_distributed, partition_leads
from features.ingest.dataset_config import load_config
from features.ingest.loaders import load_dataset
from features.simulation.simulation_config import SimulationConfig
from features.simulation.simulator import simulate_crm
from features.spec import FeatureParams
from features.trainset.feature_table import build_snapshots_for, feature_spec_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("dask")]


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as dask_client,
    ):
        yield dask_client


def test_partitions_keep_accounts_whole() -> None:
    leads = pd.DataFrame(
        {"lead_id": list("abcdef"), "account_id": ["x", "y", "x", None, "y", None]}
    )
    part = partition_leads(leads, 2)
    assert part[0] == part[2] and part[1] == part[4]
    assert set(part) <= {0, 1}


def test_dask_features_equal_local_features(client, tmp_path: Path) -> None:
    simulate_crm(SimulationConfig(n_leads=3000, seed=9), tmp_path)
    dataset = load_dataset(load_config("demo"), tmp_path)
    params = FeatureParams()
    spec = feature_spec_for(dataset, params)
    snapshots = build_snapshots_for(dataset, params).labelled[["lead_id", "as_of"]]
    snapshots = snapshots.sample(frac=1.0, random_state=2).reset_index(drop=True)  # any order
    local = compute_features(spec, dataset.leads, dataset.events, dataset.outcomes, snapshots)
    seen = []
    remote = compute_features_distributed(
        client, spec, dataset.leads, dataset.events, dataset.outcomes, snapshots,
        n_partitions=5, progress=seen.append,
    )  # fmt: skip
    pd.testing.assert_frame_equal(remote, local)
    assert len(seen) == 5 and sum(seen) == len(dataset.leads)
    assert (local["account_engaged_colleagues_30d"] > 0).any()
    assert np.isfinite(local["decay_engagement"]).all()
