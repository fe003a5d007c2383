"""`leadscore evaluate`: validate a registered model against closed deals, with baselines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from common.settings import Settings
from leadscore.commands.evaluation_printout import print_backtest, print_comparison

console = Console(stderr=True)


def evaluate(
    ctx: typer.Context,
    dataset: Annotated[
        str, typer.Option(help="Dataset config the model was trained on (YAML path or name).")
    ],
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the data files (default: settings).")
    ] = None,
    alias: Annotated[str, typer.Option(help="Registry alias to evaluate.")] = "challenger",
    version: Annotated[
        str | None, typer.Option(help="A model version (overrides --alias).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for report.html and metrics.json.")
    ] = None,
    training_config: Annotated[
        Path | None, typer.Option(help="The training YAML the model was trained with, if any.")
    ] = None,
    backtest: Annotated[
        int,
        typer.Option(min=0, help="Rolling-origin cut-offs (temporal data; 0 = skip)."),
    ] = 3,
    served_scores: Annotated[
        bool,
        typer.Option(
            help="Backtest what the service served (the lead store's score history), when "
            "the store exists."
        ),
    ] = True,
    marketing: Annotated[
        bool, typer.Option(help="Also write the marketing report (sales-ready by this model).")
    ] = True,
) -> None:
    """Validate a registered model against closed deals, next to the baselines.

    Scores the model's own holdout with it, rule-based points, logistic regression, naive
    Bayes (and the oracle on simulated data), runs the backtests, writes report.html and
    metrics.json and logs both to the model's MLflow run."""
    settings: Settings = ctx.obj
    run_evaluation(
        settings, dataset=dataset, data_dir=data_dir or settings.data_dir, out=out,
        alias=alias, version=version, training_config=training_config, backtest=backtest,
        served_scores=served_scores, marketing=marketing,
    )  # fmt: skip


def run_evaluation(
    settings: Settings,
    *,
    dataset: str,
    data_dir: Path,
    out: Path | None = None,
    alias: str = "challenger",
    version: str | None = None,
    training_config: Path | None = None,
    backtest: int = 0,
    served_scores: bool = False,
    marketing: bool = True,
) -> Path:
    """Evaluate one registered version; returns the report folder (with the marketing report,
    sales-ready by this model, in ``marketing/`` for temporal data unless ``marketing`` is
    false)."""
    from features.ingest.contracts import DataValidationError
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from leadscore.commands.model_choice import model_for
    from leadscore.commands.store import served_score_history
    from models.registry import client_for
    from training.pipeline import Seeds
    from training.training_config import load_training_config
    from training.training_set import build_training_set, feature_params, segment_keys_hash

    try:
        loaded = load_dataset(load_config(dataset), data_dir)
        config = load_training_config(training_config)
    except (DataValidationError, FileNotFoundError, ValueError) as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    name, chosen, model = model_for(settings, loaded, dataset, alias, version)
    client = client_for(settings.mlflow_tracking_uri)
    params = feature_params(loaded, settings.horizon_days, settings.snapshot_every_days)
    with console.status("rebuilding the training and holdout segments"):
        training_set = build_training_set(
            loaded, params, config, Seeds.from_seed(settings.seed).split
        )
    holdout = training_set.segment("holdout")
    expected = model.metadata.get("holdout_keys_sha256")
    if expected and segment_keys_hash(holdout) != expected:
        console.print(
            f"[red]holdout mismatch:[/red] v{chosen} was validated on another holdout (different "
            "data, seed or training config); pass the same --data-dir/--training-config/--seed"
        )
        raise typer.Exit(code=2)
    folder = out or Path("reports") / f"{loaded.config.name}-v{chosen}"
    links = {}
    if marketing and not loaded.static:
        from leadscore.commands.report import linked_marketing_page

        links = linked_marketing_page(loaded, model, chosen, folder, "marketing")
    with console.status("scoring the holdout with the model and the baselines"):
        served = served_score_history(settings) if served_scores else None
        backtests = _backtests(model, training_set, loaded, params, config, backtest, served)
        evaluation = _evaluate(
            model, training_set, loaded, data_dir, params, (name, chosen), backtests, links
        )
    from evaluation.report import write_metrics_json, write_report

    report = write_report(evaluation.html, folder / "report.html")
    metrics = write_metrics_json(evaluation.metrics, folder / "metrics.json")
    run_id = client.get_model_version(name, chosen).run_id
    for path in (report, metrics):
        client.log_artifact(run_id, str(path), "evaluation")
    if links:
        client.log_artifacts(run_id, str(folder / "marketing"), "evaluation/marketing")
    print_comparison(evaluation.tables["comparison"], chosen)
    if "Rolling-origin backtest" in backtests:
        print_backtest(backtests["Rolling-origin backtest"][1])
    console.print(f"[green]wrote[/green] {report} and {metrics} (logged to run {run_id})")
    return folder


def _backtests(
    model: Any,
    training_set: Any,
    loaded: Any,
    params: Any,
    config: Any,
    n_cutoffs: int,
    served_log: Any | None,
) -> dict[str, tuple[str, Any]]:
    """Rolling-origin backtest (LightGBM with the model's settings + baselines refitted at
    every cut-off) and the served-score backtest when scores were served."""
    from evaluation.backtest import rolling_origin_backtest, served_score_backtest
    from features.trainset.snapshots import observed_until_of

    out: dict[str, tuple[str, Any]] = {}
    if loaded.static:
        return out
    if n_cutoffs:
        table = rolling_origin_backtest(
            training_set.table,
            params.horizon_days,
            refit_at_cutoffs(model, config),
            n_cutoffs=n_cutoffs,
        )
        out["Rolling-origin backtest"] = (
            "At each cut-off: refit on snapshots whose label window closed before it, test on "
            "the next period. Stable numbers over time mean the ranking can be trusted.",
            table,
        )
    if served_log is not None and len(served_log):
        try:
            served = served_score_backtest(
                served_log, loaded.outcomes, params.horizon_days, observed_until_of(loaded)
            )
        except ValueError as exc:
            console.print(f"[yellow]served-score backtest skipped:[/yellow] {exc}")
        else:
            note = "What the service answered at the time, judged by the deals that closed later."
            out["Served scores: by tier"] = (note, served["tiers"])
            out["Served scores: by model version"] = (note, served["by_model_version"])
    return out


def refit_at_cutoffs(model: Any, config: Any) -> Callable[[Any, Any], dict[str, Any]]:
    """The backtest's models: LightGBM with ``model``'s features and rounds and ``config``'s
    parameters (a points model: its rules), and the baselines, each refitted on a cut-off's
    training rows."""
    from evaluation.baselines import RuleBasedPoints
    from evaluation.validate import baseline_features, baseline_scores, model_row_name
    from models.encoding import encode_frame
    from training.lightgbm_model import fit_booster

    features = list(model.features)
    categorical = [f for f in model.spec.categorical if f in features]
    name = model_row_name(model)

    def fit_predict(train: Any, test: Any) -> dict[str, Any]:
        if model.is_points_model:
            points = RuleBasedPoints().fit(train[features], train["label"])
            scores = {name: points.predict_proba(test[features])[:, 1]}
        else:
            params = model.metadata.get("lgbm_params", config.lgbm_params)
            fitted = fit_booster(
                train, None, features, categorical, params, seed=0,
                num_threads=config.num_threads,
                num_boost_round=max(model.booster.current_iteration(), 1),
                early_stopping_rounds=1,
            )  # fmt: skip
            scores = {
                name: fitted.booster.predict(encode_frame(test, fitted.features, fitted.categories))
            }
        scores.update(baseline_scores(train, test, baseline_features(model, train)))
        return scores

    return fit_predict


def _evaluate(
    model: Any,
    training_set: Any,
    loaded: Any,
    data_dir: Path,
    params: Any,
    registered: tuple[str, str],
    backtests: dict[str, tuple[str, Any]],
    links: dict[str, str],
) -> Any:
    import pandas as pd

    from evaluation.design import validation_design
    from evaluation.lifecycle import lifecycle_view
    from evaluation.validate import evaluate_model, left_out_baselines, won_amount_in_window

    holdout = training_set.segment("holdout")
    train = training_set.segment("train")
    if model.metadata.get("refit_with_valid"):
        # The booster was refit on train + valid: the baselines learn from the same rows.
        train = pd.concat([train, training_set.segment("valid")], ignore_index=True)
    oracle = amount = lifecycle = None
    if not loaded.static:
        amount = won_amount_in_window(holdout, loaded.outcomes, params.horizon_days)
        if loaded.events is not None and len(loaded.events):
            lifecycle = lifecycle_view(loaded.leads, loaded.events, loaded.outcomes)
        truth_path = Path(data_dir) / "truth.parquet"
        if truth_path.exists():  # simulated data: the true propensity is known
            from features.simulation.oracle import oracle_probability

            truth = pd.read_parquet(truth_path)
            oracle = oracle_probability(
                truth, holdout["lead_id"], holdout["as_of"], params.horizon_days
            )
    design = validation_design(
        model.metadata, training_set.split.segments, split_kind=training_set.split.kind,
        left_out=left_out_baselines(list(model.features)),
    )  # fmt: skip
    name, version = registered
    return evaluate_model(
        model, train, holdout, model_version=version, dataset_name=loaded.config.name,
        oracle=oracle, amount=amount, lifecycle=lifecycle, backtests=backtests, design=design,
        model_name=name, links=links,
    )  # fmt: skip
