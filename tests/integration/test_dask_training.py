"""Training on a real 2-worker Dask LocalCluster with lightgbm.dask: the booster is trained by
both workers on their own blocks of rows, is as good as the local engine's on the same holdout
(and on a rerun), and packages, scores and registers like any other model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("dask")]


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm

    folder = tmp_path_factory.mktemp("dask_training") / "data"
    simulate_crm(SimulationConfig(n_leads=4000, days=730, seed=21), folder)
    return folder, load_dataset(load_config("demo"), folder)


@pytest.fixture(scope="module")
def cluster():
    from leadscore.cluster import dask_client

    with dask_client(None, n_workers=2) as client:
        yield client


def test_dask_booster_matches_the_local_engine(crm, cluster) -> None:
    from models.encoding import encode_frame
    from training.lightgbm_dask import fit_booster_dask
    from training.lightgbm_model import fit_booster
    from training.training_config import TrainingConfig
    from training.training_set import build_training_set, feature_params

    _, dataset = crm
    config = TrainingConfig()
    training_set = build_training_set(dataset, feature_params(dataset, 90, 30), config, 1)
    train, valid = training_set.segment("train"), training_set.segment("valid")
    holdout = training_set.segment("holdout")
    names, categorical = training_set.spec.names, training_set.spec.categorical
    common = dict(seed=5, num_threads=1, num_boost_round=400, early_stopping_rounds=40)
    local = fit_booster(train, valid, names, categorical, config.lgbm_params, **common)
    dask = fit_booster_dask(cluster, train, valid, names, categorical, config.lgbm_params, **common)

    # Data-parallel over both workers, each on its own block of rows.
    assert dask.booster.params["num_machines"] == 2
    assert dask.booster.params["tree_learner"] == "data"
    # Early stopping by staged rounds: cut at the best valid iteration, well before the cap.
    assert dask.best_iteration == dask.booster.current_iteration() < 400

    def auc(fitted) -> float:
        X = encode_frame(holdout, fitted.features, fitted.categories)
        return roc_auc_score(holdout["label"], fitted.booster.predict(X))

    # Not byte-reproducible (see training.lightgbm_dask): every rerun must be as good.
    again = fit_booster_dask(
        cluster, train, valid, names, categorical, config.lgbm_params, **common
    )
    for fitted in (dask, again):
        assert abs(auc(fitted) - auc(local)) < 0.03, (auc(fitted), auc(local))


def test_train_cli_with_dask_engine_registers_a_challenger(crm, tmp_path) -> None:
    import mlflow

    from leadscore.cli import app
    from models.registry import alias_version, client_for, load_bundle

    folder, dataset = crm
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["--tracking-uri", uri, "train", "--dataset", "demo", "--data-dir", str(folder)]
    result = CliRunner().invoke(app, [*args, "--engine", "dask", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["holdout_metrics"]["roc_auc"] > 0.7
    client = client_for(uri)
    version = alias_version(client, "leadscore-demo", "challenger")
    run = mlflow.MlflowClient(uri).get_run(
        client.get_model_version("leadscore-demo", version).run_id
    )
    assert run.data.params["engine"] == "dask"
    model = load_bundle(client, "leadscore-demo", version)
    assert model.metadata["engine"] == "dask"
    # The packaged model scores and explains like any other.
    scored = model.score_features(_holdout_rows(dataset), explain_k=3)
    assert np.isfinite(scored["probability"]).all() and scored["reasons"].str.len().min() > 2

    bad = CliRunner().invoke(app, [*args, "--engine", "spark"])
    assert bad.exit_code != 0 and "--engine must be local or dask" in bad.output


def _holdout_rows(dataset):
    from training.training_config import TrainingConfig
    from training.training_set import build_training_set, feature_params

    training_set = build_training_set(dataset, feature_params(dataset, 90, 30), TrainingConfig(), 1)
    return training_set.segment("holdout").head(50)
