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
        model_name="leadscore-demo", resolved_config={},
    )  # fmt: skip
    # What the service served, in the lead store's score history: the holdout's scores at
    # their as_of (as the service's score log writes them).
    from store.lead_store import LeadStore
    from store.records import to_micros
    from store.score_records import StoreScore

    holdout = result.holdout
    served = result.model.score_features(holdout, explain_k=1)
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store = LeadStore.open(store_url, "demo")
    store.append_history(
        [StoreScore(lead_id=r.lead_id, as_of=to_micros(as_of), scored_at=to_micros(as_of),
                    model_version="1", probability=r.probability, score=r.score, tier=r.tier,
                    sales_ready=r.sales_ready, fit=r.fit, engagement=r.engagement, cause="request")
         for r, as_of in zip(served.itertuples(), holdout["as_of"].dt.to_pydatetime(), strict=True)]
    )  # fmt: skip
    store.close()
    out = tmp_path / "report"
    run = CliRunner().invoke(
        app,
        ["--tracking-uri", uri, "--seed", "42", "evaluate", "--dataset", "demo",
         "--data-dir", str(data), "--out", str(out), "--backtest", "2"],
        env={"LEADSCORE_STORE_URL": store_url},
        catch_exceptions=False,
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    metrics = json.loads((out / "metrics.json").read_text())
    rows = {row["model"]: row for row in metrics["comparison"]}
    assert set(rows) == {
        "leadscore (LightGBM)", "rule-based points", "logistic regression",
        "naive Bayes frequency", "default LightGBM (LGBMClassifier())", "oracle (true propensity)",
    }  # fmt: skip
    # The report scores the same holdout training validated on (the CLI checks its keys'
    # hash): the AUC as logged. The report's probabilities come from the TreeSHAP sum, which
    # differs from the booster's raw score by ~1e-15 and so orders rows that tie in the
    # logged scores (same leaves) at random: up to ~2e-4 of AUC on this holdout.
    model_auc = rows["leadscore (LightGBM)"]["roc_auc"]
    assert model_auc == pytest.approx(result.metrics["roc_auc"], abs=1e-3)
    # Nobody beats the truth; everything ranks better than chance.
    assert all(0.55 < row["roc_auc"] <= rows["oracle (true propensity)"]["roc_auc"] + 0.01
               for row in rows.values())  # fmt: skip
    backtest = metrics["Rolling-origin backtest"]
    assert len({row["cutoff"] for row in backtest}) == 2 and len(backtest) == 10
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
    # How it was validated, first: the out-of-time split and its segments, the audit.
    validation = metrics["validation"]
    assert validation["split"] == result.training_set.split.kind
    assert [row["segment"] for row in validation["segments"]] == list(
        result.training_set.split.segments
    )
    assert validation["holdout_roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    assert html.index("<h2>Validation</h2>") < html.index("<h2>Model vs baselines</h2>")
    assert "<h2>Leakage audit</h2>" in html


def test_evaluate_with_another_data_set_is_one_clear_line(tmp_path, monkeypatch) -> None:
    from telemarketing_export import write_telemarketing_csv

    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from leadscore.cli import app
    from training.pipeline import train_model
    from training.tracking import log_training_run
    from training.training_config import TrainingConfig
    from training.training_set import feature_params

    data = tmp_path / "data"
    simulate_crm(SimulationConfig(n_leads=2500, seed=5), data)
    dataset = load_dataset(load_config("demo"), data)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = TrainingConfig(num_boost_round=100, cv_folds=0)
    result = train_model(dataset, feature_params(dataset, 90, 30), config, seed=1)
    log_training_run(
        result, dataset, tracking_uri=uri, artifact_root=tmp_path / "artifacts",
        model_name="leadscore-demo", resolved_config={},
    )  # fmt: skip
    write_telemarketing_csv(data / "campaign.csv", n=400)
    (tmp_path / "campaign.yaml").write_text(
        "name: campaign\nmode: static\nleads:\n  path: campaign.csv\n  csv_options: {sep: ';'}\n"
        "  columns: {label: y}\n  attributes: {age: numeric, job: categorical}\n"
    )
    args = ["--tracking-uri", uri, "evaluate", "--dataset", str(tmp_path / "campaign.yaml"),
            "--data-dir", str(data)]  # fmt: skip
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 2
    text = " ".join(missing.output.split())
    assert text == (
        "no model: models:/leadscore-campaign@challenger does not exist (registered: "
        f"leadscore-demo); train one with `leadscore train --dataset {tmp_path / 'campaign.yaml'}`"
    )
    monkeypatch.setenv("LEADSCORE_MODEL_NAME", "leadscore-demo")
    wrong = CliRunner().invoke(app, args)
    assert wrong.exit_code == 2
    text = " ".join(wrong.output.split())
    assert text == (
        "wrong data set: v1 of leadscore-demo was trained on data set 'demo', not 'campaign': "
        "pass --dataset demo (or that data set's config)"
    )
