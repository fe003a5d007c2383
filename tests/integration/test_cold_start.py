"""Cold start on a real MLflow store: a 300-lead CRM has too few closed deals, so `train`
registers the points model and makes it the champion; it scores through the pyfunc like any
model, says it is a points model (GET /model's body, its reasons, the report); a trained
model on a grown CRM replaces it through the normal promotion gate."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("cold_start")]


def _cli(uri: str, *args: str):
    from leadscore.cli import app

    return CliRunner().invoke(app, ["--tracking-uri", uri, *args], catch_exceptions=False)


def test_points_model_serves_until_a_trained_model_wins(tmp_path) -> None:
    import mlflow

    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from models.registry import alias_version, client_for, load_bundle
    from serving.model_handle import load_served_model
    from serving.web import model_info

    small, grown = tmp_path / "small", tmp_path / "grown"
    simulate_crm(SimulationConfig(n_leads=300, seed=5), small)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = _cli(uri, "train", "--dataset", "demo", "--data-dir", str(small), "--json")
    assert first.exit_code == 0, first.output
    text = " ".join(first.output.split())
    assert (
        "not enough data to train and validate" in text
        and "points model v1 is the champion" in text
    )
    assert json.loads(first.stdout[first.stdout.index("{") :])["model_kind"] == "points"
    client = client_for(uri)
    assert alias_version(client, "leadscore-demo", "champion") == "1"

    served = load_served_model(uri, "leadscore-demo", "champion")
    info = model_info(served)
    assert info.kind == "points" and "training positives" in (info.cold_start_reason or "")
    model = load_bundle(client, "leadscore-demo", "1")
    assert model.is_points_model and all(f.startswith("decay_") or f in (
        "seniority", "company_size", "is_customer") for f in model.features)  # fmt: skip
    # Through the pyfunc, like every model: a demo request yesterday outranks silence.
    pyfunc = mlflow.pyfunc.load_model(client.get_model_version_download_uri("leadscore-demo", "1"))
    frame = _leads_frame()
    scores = pyfunc.predict(frame, params={"explain_k": 2})
    hot, cold = scores.iloc[0], scores.iloc[1]
    assert hot["probability"] > cold["probability"] and hot["score"] > cold["score"]
    reasons = json.loads(hot["reasons"])
    assert reasons[0]["feature"] == "demo_request" and reasons[0]["direction"] == "up"
    assert "(points rule: +" in reasons[0]["sentence"]

    report = tmp_path / "report"
    evaluated = _cli(uri, "--seed", "42", "evaluate", "--dataset", "demo", "--data-dir",
                     str(small), "--version", "1", "--out", str(report), "--backtest", "0")  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["model"]["name"] == "leadscore-demo points model (cold start)"
    assert metrics["comparison"][0]["model"] == "leadscore (points model, cold start)"
    assert "points model (cold start)" in (report / "report.html").read_text()

    simulate_crm(SimulationConfig(n_leads=6000, seed=5), grown)
    second = _cli(uri, "train", "--dataset", "demo", "--data-dir", str(grown), "--json")
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout[second.stdout.index("{") :])["model_kind"] == "lightgbm"
    assert alias_version(client, "leadscore-demo", "champion") == "1"  # only the gate moves it
    promoted = _cli(uri, "promote")
    assert promoted.exit_code == 0, promoted.output
    assert "promoted v2" in " ".join(promoted.output.split())
    assert alias_version(client, "leadscore-demo", "champion") == "2"
    assert model_info(load_served_model(uri, "leadscore-demo", "champion")).kind == "lightgbm"


def _leads_frame():
    import pandas as pd

    now = pd.Timestamp("2025-06-01", tz="UTC")
    demo = [{"event_type": "demo_request", "occurred_at": (now - pd.Timedelta(days=1)).isoformat()}]
    return pd.DataFrame(
        {
            "lead_id": ["hot", "cold"],
            "as_of": [now.isoformat()] * 2,
            "created_at": [(now - pd.Timedelta(days=60)).isoformat()] * 2,
            "seniority": ["manager", "manager"],
            "events": [json.dumps(demo), "[]"],
        }
    )
