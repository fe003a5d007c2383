"""`leadscore score` on a real registry: local and Dask outputs identical, tier changes against
the previous run, and a killed run leaves the previous output intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("batch_scoring")]


@pytest.fixture(scope="module")
def champion(tmp_path_factory) -> tuple[str, Path, Path]:
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from models.registry import client_for
    from training.pipeline import train_model
    from training.tracking import log_training_run
    from training.training_config import TrainingConfig
    from training.training_set import feature_params

    folder = tmp_path_factory.mktemp("scoring")
    simulate_crm(SimulationConfig(n_leads=3000, seed=4), folder / "train")
    # Scored data: a bigger CRM of the same shape (the nightly rescoring of a database).
    simulate_crm(SimulationConfig(n_leads=20_000, seed=5), folder / "crm")
    dataset = load_dataset(load_config("demo"), folder / "train")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    result = train_model(dataset, feature_params(dataset, 90, 30), TrainingConfig(), seed=1)
    version = log_training_run(
        result, dataset, tracking_uri=uri, artifact_root=folder / "artifacts",
        model_name="leadscore-demo", resolved_config={},
    ).version  # fmt: skip
    client_for(uri).set_registered_model_alias("leadscore-demo", "champion", version)
    return uri, folder / "crm", folder


def _score(uri: str, data: Path, out: Path, *extra: str):
    from leadscore.cli import app

    args = ["--tracking-uri", uri, "score", "--dataset", "demo", "--data-dir", str(data)]
    result = CliRunner().invoke(app, [*args, "--out", str(out), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out)


def test_local_and_dask_scores_are_identical(champion, tmp_path: Path) -> None:
    uri, data, _ = champion
    as_of = ["--as-of", "2025-10-01T00:00:00"]
    local = _score(uri, data, tmp_path / "local.parquet", *as_of)
    dask = _score(uri, data, tmp_path / "dask.parquet", *as_of, "--engine", "dask")
    pd.testing.assert_frame_equal(local, dask)
    assert len(local) > 15_000 and set(local["tier"]) == {"A", "B", "C", "D"}
    assert local["model_version"].eq("1").all()
    reasons = local["reasons"].map(len)
    assert (reasons > 20).all()  # every lead carries its top reasons (JSON)
    assert local["tier_changed"].all()  # a first run: everything is new


def test_tier_changed_compares_with_the_previous_run(champion, tmp_path: Path) -> None:
    uri, data, _ = champion
    out = tmp_path / "scores.parquet"
    first = _score(uri, data, out, "--as-of", "2025-09-01T00:00:00")
    second = _score(uri, data, out, "--as-of", "2025-10-01T00:00:00")
    before = first.set_index("lead_id")["tier"]
    expected = second["lead_id"].map(before)
    assert second["previous_tier"].fillna("-").tolist() == expected.fillna("-").tolist()
    moved = expected.isna() | (expected != second["tier"])
    assert second["tier_changed"].tolist() == moved.tolist()
    assert 0 < second["tier_changed"].sum() < len(second)


def test_a_killed_run_leaves_the_previous_output_and_a_rerun_completes(
    champion, tmp_path: Path
) -> None:
    uri, data, _ = champion
    out = tmp_path / "scores.parquet"
    _score(uri, data, out, "--as-of", "2025-09-01T00:00:00")
    previous = out.read_bytes()
    command = [
        sys.executable, "-m", "leadscore.cli", "--tracking-uri", uri, "score", "--dataset",
        "demo", "--data-dir", str(data), "--out", str(out), "--as-of", "2025-10-01T00:00:00",
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)  # model loaded, features or scores under way (a full run takes longer)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert out.read_bytes() == previous  # untouched, never half-written
    rerun = _score(uri, data, out, "--as-of", "2025-10-01T00:00:00")
    assert len(rerun) > 15_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.parquet"]
