"""`leadscore demo`: the whole product on a simulated CRM, one step after another.

Everything lives under ``--workdir`` (data, MLflow store, reports, lead store), so the demo
never touches a real registry. The simulated history ends today, so the leads imported into
the lead store are scored as of now like live ones. The last step replaces this process with
the BentoML service.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from common.settings import Settings

console = Console(stderr=True)


def demo(
    ctx: typer.Context,
    workdir: Annotated[
        Path, typer.Option(help="Folder for the demo's data, MLflow store, report and logs.")
    ] = Path(".demo"),
    leads: Annotated[int, typer.Option(min=2000, help="Leads to simulate.")] = 20_000,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the service.")] = 3000,
    serve: Annotated[
        bool, typer.Option(help="End by serving the champion (--no-serve stops before).")
    ] = True,
) -> None:
    """Simulate a CRM, train, validate, register the champion, score, fill the lead store and
    serve it."""
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from leadscore.commands.evaluate import run_evaluation
    from leadscore.commands.training import run_training
    from models.batch_scoring import (
        read_previous,
        score_dataset,
        tier_summary,
        write_scores_atomically,
    )
    from models.model_names import model_name_for
    from models.registry import alias_version, client_for, load_bundle, promote
    from training.training_config import TrainingConfig

    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    base: Settings = ctx.obj
    settings = base.model_copy(
        update={
            "data_dir": workdir / "data",
            "mlflow_tracking_uri": f"sqlite:///{workdir / 'mlflow.db'}",
            "mlflow_artifact_root": workdir / "mlartifacts",
            "model_name": model_name_for("demo"),
            "store_url": None,  # the lead store: a SQLite file in the demo's data folder
            "store_dataset": "demo",
        }
    )
    data = settings.data_dir

    console.rule("1. simulate a CRM")
    days = SimulationConfig().days
    start = (datetime.now(UTC) - timedelta(days=days)).date().isoformat()
    config = SimulationConfig(n_leads=leads, seed=settings.seed, start=start, days=days)
    summary = simulate_crm(config, data)
    console.print(
        f"{summary.leads:,} leads, {summary.events:,} events, {summary.outcomes:,} closed deals, "
        f"{summary.open_deals:,} still open; "
        f"{summary.conversion_rate:.1%} of leads bought ({summary.seconds:.1f}s)"
    )

    console.rule("2. load and validate")
    dataset = load_dataset(load_config("demo"), data)
    console.print(dataset.report.summary())

    console.rule("3. train (point-in-time features, leakage audit, LightGBM, calibration)")
    config = TrainingConfig()
    result, logged = run_training(dataset, settings, config, allow=[])
    metrics = result.metrics
    console.print(
        f"registered v{logged.version} as challenger: out-of-time ROC-AUC "
        f"{metrics['roc_auc']:.3f}, PR-AUC {metrics['pr_auc']:.3f} (run {logged.run_id})"
    )

    console.rule("4. validate against closed deals and promote")
    report = run_evaluation(settings, dataset="demo", data_dir=data, out=workdir / "report")
    console.print(f"validation report: {report / 'report.html'}")
    console.print(f"marketing report: {report / 'marketing' / 'marketing.html'}")
    client = client_for(settings.mlflow_tracking_uri)
    decision = promote(
        client,
        settings.model_name,
        metric=config.promote_metric,
        tolerance=config.tolerance,
        floors=config.floors,
    )
    console.print(decision.message)

    console.rule("5. score every lead (what a nurture system runs nightly)")
    champion = alias_version(client, settings.model_name, "champion")
    model = load_bundle(client, settings.model_name, champion)
    out = workdir / "scores.parquet"
    scores = score_dataset(
        model, dataset, explain_k=3, previous=read_previous(out), model_version=champion
    )
    write_scores_atomically(scores, out)
    console.print(tier_summary(scores).to_string())
    hottest = scores.nlargest(1, "probability").iloc[0]
    because = "; ".join(
        f"{r['sentence']} ({r['points']:+.1f} pts)" for r in json.loads(hottest["reasons"])
    )
    console.print(
        f"hottest lead {hottest['lead_id']}: better than {hottest['score']} % of leads (tier "
        f"{hottest['tier']}), {hottest['probability']:.1%} chance to buy within "
        f"{model.spec.params.horizon_days} days (a typical lead: "
        f"{hottest['base_probability']:.1%}), because: {because}"
    )
    console.print(f"wrote {out}")

    console.rule("6. fill the lead store (what CRMs and CDPs keep current through the API)")
    from leadscore.commands.store import open_store
    from store.crm_import import import_dataset

    store = open_store(settings)
    try:
        imported = import_dataset(store, dataset)
    finally:
        store.close()
    console.print(
        f"{imported.leads_created:,} leads and {imported.events_stored:,} events in the lead "
        f"store; open one on the sales page, e.g. {hottest['lead_id']}"
    )

    if serve:
        console.rule("7. serve the champion")
        from leadscore.commands.serve import serve as serve_command

        ctx.obj = settings
        serve_command(ctx, host="127.0.0.1", port=port, demo_key=True)
