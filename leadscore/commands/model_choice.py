"""Which registered model a command works on (see ``models.model_names``), for the commands:
the setting, else the data set's, else the only one in the store; a clear line otherwise."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from common.settings import Settings

console = Console(stderr=True)

DatasetNameOption = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="Data set whose model to use: its config (path or shipped name) or its name. "
        "Default: LEADSCORE_MODEL_NAME, else the only leadscore model in the store.",
    ),
]


def dataset_name(value: str) -> str:
    """A ``--dataset`` value as a data set name: a config gives its ``name``, anything else is
    taken as the name itself."""
    from features.ingest.dataset_config import load_config

    try:
        return load_config(value).name
    except (FileNotFoundError, ValueError):
        return value


def chosen_model_name(settings: Settings, dataset: str | None, alias: str | None = None) -> str:
    """The registered model name, or exit 2 saying which ones there are."""
    from models.model_names import resolve_model_name
    from models.registry import RegistryError, client_for

    name = dataset_name(dataset) if dataset else None
    try:
        return resolve_model_name(
            client_for(settings.mlflow_tracking_uri), settings.model_name, name, alias=alias
        )
    except RegistryError as exc:
        console.print(f"[red]which model?[/red] {exc}")
        raise typer.Exit(code=2) from exc


def dataset_mismatch(model: Any, dataset: Any) -> str:
    """Why ``model`` cannot score ``dataset`` ('' when it can): another data set, or features
    the data set's spec does not make (different attributes or event types)."""
    from features.trainset.feature_table import feature_spec_for
    from training.training_set import feature_params

    trained_on = model.metadata.get("dataset")
    if trained_on and trained_on != dataset.config.name:
        return (
            f"was trained on data set {trained_on!r}, not {dataset.config.name!r}: pass "
            f"--dataset {trained_on} (or that data set's config)"
        )
    spec = feature_spec_for(dataset, feature_params(dataset, 90, 30))  # names: any horizon
    missing = sorted(set(model.features) - set(spec.names))
    if missing:
        return (
            f"needs features this config does not make: {missing[:6]} ({len(missing)} in all): "
            "use the config the model was trained with"
        )
    return ""


def model_for(
    settings: Settings, dataset: Any, config_ref: str, alias: str, version: str | None
) -> tuple[str, str, Any]:
    """(registered name, version, LeadScoreModel) for a loaded dataset, or exit 2 with one
    line: no such model (naming the registered ones), or a model of another data set."""
    from mlflow.exceptions import MlflowException

    from models.model_names import model_name_for, registered_model_names
    from models.registry import alias_version, client_for, load_bundle

    client = client_for(settings.mlflow_tracking_uri)
    name = settings.model_name or model_name_for(dataset.config.name)
    chosen = version or alias_version(client, name, alias)
    if chosen is None:
        others = ", ".join(registered_model_names(client)) or "none"
        console.print(
            f"[red]no model:[/red] models:/{name}@{alias} does not exist (registered: {others}); "
            f"train one with `leadscore train --dataset {config_ref}`",
            soft_wrap=True,  # a path broken over two lines cannot be copied
        )
        raise typer.Exit(code=2)
    try:
        model = load_bundle(client, name, chosen)
    except MlflowException as exc:
        console.print(
            f"[red]no model:[/red] version {chosen} of {name} does not exist ({exc})",
            soft_wrap=True,
        )
        raise typer.Exit(code=2) from exc
    mismatch = dataset_mismatch(model, dataset)
    if mismatch:
        console.print(f"[red]wrong data set:[/red] v{chosen} of {name} {mismatch}")
        raise typer.Exit(code=2)
    return name, chosen, model
