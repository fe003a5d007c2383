"""Training commands: ``train`` a challenger, ``retrain`` with newly closed deals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from common.settings import Settings
from leadscore.commands.tracking_errors import with_tracking_store_errors

if TYPE_CHECKING:
    from features.ingest.dataset import Dataset
    from training.pipeline import TrainResult
    from training.tracking import LoggedRun
    from training.training_config import TrainingConfig

console = Console(stderr=True)

DatasetOption = Annotated[
    str | None,
    typer.Option(help="Dataset config: a YAML path or a shipped name (demo, olist, ...)."),
]
FromStoreOption = Annotated[
    bool,
    typer.Option(
        "--from-store",
        help="Train on the lead store (instead of --dataset): it is exported to "
        "DATA_DIR/store-export/<time> and loaded like any CRM export.",
    ),
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
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the run's summary as JSON on stdout.")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address (tcp://host:8786); default: a local cluster."),
]


@with_tracking_store_errors
def train(
    ctx: typer.Context,
    dataset: DatasetOption = None,
    from_store: FromStoreOption = False,
    data_dir: DataDirOption = None,
    training_config: TrainingConfigOption = None,
    allow_feature: AllowOption = None,
    tune: TuneOption = 0,
    tune_minutes: TuneMinutesOption = 5.0,
    engine: EngineOption = "local",
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train a model on a dataset or the lead store, log the run to MLflow and register it as
    `challenger`.

    Ends with a summary: data, split, leakage audit, holdout metrics beside the baselines,
    warnings, the MLflow run and the next command."""
    from contextlib import ExitStack

    if engine not in ("local", "dask"):
        raise typer.BadParameter(f"--engine must be local or dask, got {engine!r}")
    settings: Settings = ctx.obj
    config = _training_config(training_config)
    loaded = _training_data(settings, dataset, from_store, data_dir)
    with ExitStack() as stack:
        client = None
        if engine == "dask":
            from leadscore.cluster import dask_client
            from leadscore.output import route_lightgbm_logs

            route_lightgbm_logs()
            client = stack.enter_context(dask_client(scheduler))
            workers = len(client.scheduler_info().get("workers", {}))
            console.print(f"Dask cluster at {client.scheduler.address}: {workers} workers")
        result, logged = run_training(
            loaded, settings, config, allow=allow_feature or [], tune=tune,
            tune_minutes=tune_minutes, client=client,
        )  # fmt: skip
    report_run(result, logged, loaded, settings, dataset, as_json=as_json)
    if result.model.is_points_model:
        from models.registry import client_for, serve_cold_start

        client = client_for(settings.mlflow_tracking_uri)
        console.print(f"[yellow]{result.model.metadata['cold_start_reason']}[/yellow]")
        console.print("[yellow]" + serve_cold_start(client, logged.model_name, logged.version))


@with_tracking_store_errors
def retrain(
    ctx: typer.Context,
    dataset: DatasetOption = None,
    outcomes: Annotated[
        Path | None, typer.Option(help="CSV/Parquet of newly closed deals (with --dataset).")
    ] = None,
    from_store: FromStoreOption = False,
    data_dir: DataDirOption = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Where the combined outcomes file goes (default: DATA_DIR/retrain)."),
    ] = None,
    training_config: TrainingConfigOption = None,
    allow_feature: AllowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Retrain with newly closed deals and promote the new model if it is better: deals
    appended from a file (--dataset with --outcomes), or everything the lead store holds
    (--from-store: the deals CRMs closed since, as they wrote them)."""
    from features.ingest.dataset_config import load_config
    from models.registry import client_for, promote
    from training.retrain import append_outcomes

    settings: Settings = ctx.obj
    config = _training_config(training_config)
    folder = data_dir or settings.data_dir
    if from_store:
        if dataset is not None or outcomes is not None:
            raise typer.BadParameter(
                "--from-store takes the store's deals: drop --dataset/--outcomes"
            )
        loaded = _training_data(settings, None, True, data_dir)
    else:
        if dataset is None or outcomes is None:
            raise typer.BadParameter("give --dataset and --outcomes, or --from-store")
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
    report_run(result, logged, loaded, settings, dataset, as_json=as_json)
    if result.model.is_points_model:
        console.print(
            f"[yellow]still a cold start:[/yellow] {result.model.metadata['cold_start_reason']}"
        )
        return
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


def _training_data(
    settings: Settings, dataset: str | None, from_store: bool, data_dir: Path | None
) -> Dataset:
    """The dataset to train on: a config's files, or an export of the lead store (kept under
    DATA_DIR/store-export/<UTC time>, so the run's data can be looked at again)."""
    from datetime import UTC, datetime

    from features.ingest.dataset_config import load_config

    if (dataset is None) == (not from_store):
        raise typer.BadParameter("give either --dataset CONFIG or --from-store")
    if dataset is not None:
        return _load(load_config(dataset), data_dir or settings.data_dir)
    from features.ingest.contracts import DataValidationError
    from leadscore.commands.store import open_store
    from store.canonical_export import load_store_dataset

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = (data_dir or settings.data_dir) / "store-export" / stamp
    store = open_store(settings)
    try:
        with console.status("exporting the lead store"):
            loaded, exported = load_store_dataset(
                store, load_config(settings.store_dataset), folder
            )
    except (DataValidationError, ValueError) as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    finally:
        store.close()
    console.print(f"lead store exported to {exported.folder}")
    console.print(loaded.report.summary())
    return loaded


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
