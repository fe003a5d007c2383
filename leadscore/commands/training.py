"""Training commands: ``train`` a challenger, ``retrain`` with newly closed deals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from common.settings import Settings

if TYPE_CHECKING:
    from features.ingest.dataset import Dataset
    from training.pipeline import TrainResult
    from training.tracking import LoggedRun
    from training.training_config import TrainingConfig

console = Console(stderr=True)

DatasetOption = Annotated[
    str, typer.Option(help="Dataset config: a YAML path or a shipped name (demo, olist, ...).")
]
DataDirOption = Annotated[
    Path | None, typer.Option(help="Folder with the data files (default: settings).")
]
TrainingConfigOption = Annotated[
    Path | None,
    typer.Option(help="Training options YAML (thresholds, floors, LightGBM params, ...)."),
]
AllowOption = Annotated[
    list[str] | None,
    typer.Option("--allow-feature", help="Keep this feature even if the leakage audit flags it."),
]
TuneOption = Annotated[int, typer.Option(min=0, help="Optuna trials (0 = default params).")]
TuneMinutesOption = Annotated[float, typer.Option(min=0.1, help="Time budget for tuning.")]
EngineOption = Annotated[
    str,
    typer.Option(
        help="local, or dask: build features and train the booster on a Dask cluster "
        "(lightgbm.dask; the training rows are spread over the workers)."
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address (tcp://host:8786); default: a local cluster."),
]


def train(
    ctx: typer.Context,
    dataset: DatasetOption,
    data_dir: DataDirOption = None,
    training_config: TrainingConfigOption = None,
    allow_feature: AllowOption = None,
    tune: TuneOption = 0,
    tune_minutes: TuneMinutesOption = 5.0,
    engine: EngineOption = "local",
    scheduler: SchedulerOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run's summary as JSON on stdout.")
    ] = False,
) -> None:
    """Train a model on DATASET, log the run to MLflow and register it as `challenger`.

    Ends with a summary: data, split, leakage audit, holdout metrics beside the baselines,
    warnings, the MLflow run and the next command."""
    from contextlib import ExitStack

    from features.ingest.dataset_config import load_config

    if engine not in ("local", "dask"):
        raise typer.BadParameter(f"--engine must be local or dask, got {engine!r}")
    settings: Settings = ctx.obj
    config = _training_config(training_config)
    loaded = _load(load_config(dataset), data_dir or settings.data_dir)
    with ExitStack() as stack:
        client = None
        if engine == "dask":
            from leadscore.cluster import dask_client

            client = stack.enter_context(
                dask_client(scheduler, arrow_memory_pool=settings.arrow_memory_pool)
            )
            workers = len(client.scheduler_info().get("workers", {}))
            console.print(f"Dask cluster at {client.scheduler.address}: {workers} workers")
        result, logged = run_training(
            loaded, settings, config, allow=allow_feature or [], tune=tune,
            tune_minutes=tune_minutes, client=client,
        )  # fmt: skip
    report_run(result, logged, loaded, settings, dataset, as_json=as_json)


def retrain(
    ctx: typer.Context,
    dataset: DatasetOption,
    outcomes: Annotated[Path, typer.Option(help="CSV/Parquet of newly closed deals.")],
    data_dir: DataDirOption = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Where the combined outcomes file goes (default: DATA_DIR/retrain)."),
    ] = None,
    training_config: TrainingConfigOption = None,
    allow_feature: AllowOption = None,
) -> None:
    """Append newly closed deals, retrain, and promote the new model if it is better."""
    from features.ingest.dataset_config import load_config
    from models.registry import client_for, promote
    from training.retrain import append_outcomes

    settings: Settings = ctx.obj
    config = _training_config(training_config)
    folder = data_dir or settings.data_dir
    try:
        appended = append_outcomes(
            load_config(dataset), folder, outcomes, work_dir or Path(folder) / "retrain"
        )
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]cannot append outcomes:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(appended.summary())
    loaded = _load(appended.config, folder)
    result, logged = run_training(loaded, settings, config, allow=allow_feature or [])
    report_run(result, logged, loaded, settings, dataset)
    decision = promote(
        client_for(settings.mlflow_tracking_uri),
        logged.model_name,
        metric=config.promote_metric,
        tolerance=config.tolerance,
        floors=config.floors,
    )
    console.print(("[green]" if decision.promoted else "[yellow]") + decision.message)


def run_training(
    dataset: Dataset,
    settings: Settings,
    config: TrainingConfig,
    *,
    allow: list[str],
    tune: int = 0,
    tune_minutes: float = 5.0,
    client: Any | None = None,
) -> tuple[TrainResult, LoggedRun]:
    """Train and log; data problems exit with code 2 and the message."""
    from models.model_names import model_name_for
    from training.pipeline import train_model
    from training.tracking import log_training_run
    from training.training_set import InsufficientDataError, feature_params

    params = feature_params(dataset, settings.horizon_days, settings.snapshot_every_days)
    try:
        with console.status("training"):
            result = train_model(
                dataset, params, config, settings.seed,
                allow_features=allow, tune_trials=tune, tune_minutes=tune_minutes, client=client,
            )  # fmt: skip
    except (InsufficientDataError, ValueError) as exc:
        console.print(f"[red]cannot train:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    resolved = {
        "dataset": dataset.config.model_dump(mode="json"),
        "settings": settings.model_dump(mode="json", exclude={"api_keys"}),
        "training": config.model_dump(mode="json"),
        "allow_features": allow,
        "tune_trials": tune,
        "engine": "local" if client is None else "dask",
    }
    with console.status("logging to MLflow"):
        logged = log_training_run(
            result,
            dataset,
            tracking_uri=settings.mlflow_tracking_uri,
            artifact_root=settings.mlflow_artifact_root,
            model_name=settings.model_name or model_name_for(dataset.config.name),
            resolved_config=resolved,
        )
    return result, logged


def _training_config(path: Path | None) -> TrainingConfig:
    from training.training_config import load_training_config

    try:
        return load_training_config(path)
    except (OSError, ValueError) as exc:
        console.print(f"[red]invalid training config:[/red] {exc}")
        raise typer.Exit(code=2) from exc


def _load(config: Any, data_dir: Path) -> Dataset:
    from features.ingest.contracts import DataValidationError
    from features.ingest.loaders import load_dataset

    try:
        return load_dataset(config, data_dir)
    except (DataValidationError, FileNotFoundError, ValueError) as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from exc


def report_run(
    result: TrainResult,
    logged: LoggedRun,
    dataset: Dataset,
    settings: Settings,
    config_ref: str,
    *,
    as_json: bool = False,
) -> None:
    """The run's summary: rich on stderr for a person, or JSON on stdout."""
    from leadscore.commands.train_summary import print_summary, training_summary

    summary = training_summary(
        result, logged, dataset, tracking_uri=settings.mlflow_tracking_uri, config_ref=config_ref
    )
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
    else:
        print_summary(summary, console)
