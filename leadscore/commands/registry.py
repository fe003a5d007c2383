"""Registry commands: ``promote`` the challenger, ``rollback`` the champion, list ``models``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from common.settings import Settings
from leadscore.commands.model_choice import DatasetNameOption, chosen_model_name
from leadscore.commands.tracking_errors import with_tracking_store_errors

console = Console(stderr=True)


@with_tracking_store_errors
def promote(
    ctx: typer.Context,
    dataset: DatasetNameOption = None,
    tolerance: Annotated[
        float | None, typer.Option(min=0.0, help="Required margin over the champion.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if refused (recorded on the version).")
    ] = False,
    training_config: Annotated[
        Path | None, typer.Option(help="Training YAML with promote_metric / floors / tolerance.")
    ] = None,
) -> None:
    """Make the challenger the champion if it beats it on the same out-of-time holdout.

    Refuses a challenger trained on another data set or with other features than the champion
    (they cannot be compared like for like) unless --force."""
    from models.registry import RegistryError, client_for
    from models.registry import promote as promote_model
    from training.training_config import load_training_config

    settings: Settings = ctx.obj
    config = load_training_config(training_config, tolerance=tolerance)
    name = chosen_model_name(settings, dataset, alias="challenger")
    try:
        decision = promote_model(
            client_for(settings.mlflow_tracking_uri),
            name,
            metric=config.promote_metric,
            tolerance=config.tolerance,
            floors=config.floors,
            force=force,
        )
    except RegistryError as exc:
        console.print(f"[red]cannot promote:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    colour = "green" if decision.promoted and not decision.forced else "yellow"
    console.print(f"{name}: [{colour}]{decision.message}[/{colour}]")
    if not decision.promoted:
        raise typer.Exit(code=1)


@with_tracking_store_errors
def rollback(ctx: typer.Context, dataset: DatasetNameOption = None) -> None:
    """Point `champion` back to the previous champion version."""
    from models.registry import RegistryError, client_for
    from models.registry import rollback as rollback_model

    settings: Settings = ctx.obj
    name = chosen_model_name(settings, dataset, alias="champion")
    try:
        old, new = rollback_model(client_for(settings.mlflow_tracking_uri), name)
    except RegistryError as exc:
        console.print(f"[red]cannot roll back:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(f"{name} champion: v{old} -> v{new}")


@with_tracking_store_errors
def models(ctx: typer.Context, dataset: DatasetNameOption = None) -> None:
    """List registered models (one per data set) with their versions, data set, aliases and
    holdout metrics."""
    from rich.table import Table

    from leadscore.commands.model_choice import dataset_name
    from models.model_names import model_name_for, registered_model_names
    from models.registry import client_for, list_versions

    settings: Settings = ctx.obj
    client = client_for(settings.mlflow_tracking_uri)
    if settings.model_name or dataset:
        names = [settings.model_name or model_name_for(dataset_name(dataset or ""))]
    else:
        names = registered_model_names(client)
    if not names:
        console.print(f"no leadscore model registered in {settings.mlflow_tracking_uri}")
    for name in names:
        table = Table(title=f"{name} ({settings.mlflow_tracking_uri})")
        for column in ("version", "data set", "aliases", "roc_auc", "pr_auc", "created", "run"):
            table.add_column(column, overflow="fold")
        for v in list_versions(client, name):
            metric = v.metrics.get
            table.add_row(
                v.version, v.dataset or "?", ", ".join(v.aliases),
                f"{metric('roc_auc', float('nan')):.4f}", f"{metric('pr_auc', float('nan')):.4f}",
                v.created[:10], v.run_id[:8],
            )  # fmt: skip
        Console().print(table)
