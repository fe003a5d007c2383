"""`leadscore evaluate` on a real MLflow store: report + metrics JSON written, logged to the
model's run, model vs every baseline and the oracle on the very holdout it was validated on."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("evaluate")]


def test_evaluate_writes_report_and_logs_it(tmp_path) -> None:
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from leadscore.cli import app
    from models.registry import client_for
    from training.pipeline import train_model
    from training.tracking import log_training_run
    from training.training_config import TrainingConfig
    from training.training_set import feature_params

    data = tmp_path / "data"
    simulate_crm(SimulationConfig(n_leads=4000, seed=21), data)
    dataset = load_dataset(load_config("demo"), data)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train_model(dataset, feature_params(dataset, 90, 30), TrainingConfig(), seed=42)
    logged = log_training_run(
        result, dataset, tracking_uri=uri, artifact_root=tmp_path / "artifacts",
        model_name="leadscore", resolved_config={},
    )  # fmt: skip
    # A score log written by the service's own ScoreLog: the holdout's scores at their as_of.
    from models.schema import ScoreOut
    from serving.score_log import ScoreLog

    holdout = result.holdout
    served = result.model.score_features(holdout, explain_k=1)
    log = tmp_path / "scores.sqlite"
    writer = ScoreLog(log)
    for as_of, rows in served.assign(as_of=holdout["as_of"].to_numpy()).groupby("as_of"):
        writer.append(
            [ScoreOut(lead_id=r.lead_id, as_of=as_of, probability=r.probability, score=r.score,
                      tier=r.tier, sales_ready=r.sales_ready, fit=r.fit, engagement=r.engagement,
                      reasons=[], model_version="1") for r in rows.itertuples()],
            scored_at=as_of,
        )  # fmt: skip
    writer.close()
    out = tmp_path / "report"
    run = CliRunner().invoke(
        app,
        ["--tracking-uri", uri, "--seed", "42", "evaluate", "--dataset", "demo",
         "--data-dir", str(data), "--out", str(out), "--backtest", "2", "--score-log", str(log)],
        catch_exceptions=False,
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    metrics = json.loads((out / "metrics.json").read_text())
    rows = {row["model"]: row for row in metrics["comparison"]}
    assert set(rows) == {
        "leadscore (LightGBM)", "rule-based points", "logistic regression",
        "naive Bayes frequency", "oracle (true propensity)",
    }  # fmt: skip
    # The report scores the same holdout training validated on: same AUC as logged.
    model_auc = rows["leadscore (LightGBM)"]["roc_auc"]
    assert model_auc == pytest.approx(result.metrics["roc_auc"], abs=1e-9)
    # Nobody beats the truth; everything ranks better than chance.
    assert all(0.55 < row["roc_auc"] <= rows["oracle (true propensity)"]["roc_auc"] + 0.01
               for row in rows.values())  # fmt: skip
    backtest = metrics["Rolling-origin backtest"]
    assert len({row["cutoff"] for row in backtest}) == 2 and len(backtest) == 8
    lightgbm = [row["roc_auc"] for row in backtest if row["model"] == "leadscore (LightGBM)"]
    mean_row = next(line for line in run.output.splitlines() if "mean" in line)
    assert f"{sum(lightgbm) / 2:.3f}" in mean_row
    # Served scores judged by the deals that closed: all holdout rows have a closed window.
    served_tiers = {row["tier"]: row for row in metrics["Served scores: by tier"]}
    assert sum(row["leads"] for row in served_tiers.values()) == len(holdout)
    assert sum(row["wins"] for row in served_tiers.values()) == int(holdout["label"].sum())
    html = (out / "report.html").read_text()
    assert "Rolling-origin backtest" in html and "Served scores: by tier" in html
    assert "Model vs baselines" in html and "http://" not in html and "https://" not in html
    assert f"{model_auc:.3f}" in html
    # The marketing report, sales-ready by this model's threshold, is written and linked.
    assert "href='marketing/marketing.html'" in html
    marketing = (out / "marketing" / "marketing.html").read_text()
    assert f"the model (version {logged.version})" in marketing
    assert json.loads((out / "marketing" / "marketing.json").read_text())["model_version"] == (
        str(logged.version)
    )
    client = client_for(uri)
    artifacts = {a.path for a in client.list_artifacts(logged.run_id, "evaluation")}
    assert artifacts == {
        "evaluation/report.html", "evaluation/metrics.json", "evaluation/marketing"
    }  # fmt: skip
    logged_marketing = {
        a.path for a in client.list_artifacts(logged.run_id, "evaluation/marketing")
    }
    assert "evaluation/marketing/marketing.html" in logged_marketing
