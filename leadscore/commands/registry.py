"""Registry commands: ``promote`` the challenger, ``rollback`` the champion, list ``models``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from common.settings import Settings
from leadscore.commands.tracking_errors import with_tracking_store_errors

console = Console(stderr=True)


@with_tracking_store_errors
def promote(
    ctx: typer.Context,
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
    """Make the challenger the champion if it beats it on the same out-of-time holdout."""
    from models.registry import RegistryError, client_for
    from models.registry import promote as promote_model
    from training.training_config import load_training_config

    settings: Settings = ctx.obj
    config = load_training_config(training_config, tolerance=tolerance)
    try:
        decision = promote_model(
            client_for(settings.mlflow_tracking_uri),
            settings.model_name,
            metric=config.promote_metric,
            tolerance=config.tolerance,
            floors=config.floors,
            force=force,
        )
    except RegistryError as exc:
        console.print(f"[red]cannot promote:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    colour = "green" if decision.promoted and not decision.forced else "yellow"
    console.print(f"[{colour}]{decision.message}[/{colour}]")
    if not decision.promoted:
        raise typer.Exit(code=1)


@with_tracking_store_errors
def rollback(ctx: typer.Context) -> None:
    """Point `champion` back to the previous champion version."""
    from models.registry import RegistryError, client_for
    from models.registry import rollback as rollback_model

    settings: Settings = ctx.obj
    try:
        old, new = rollback_model(client_for(settings.mlflow_tracking_uri), settings.model_name)
    except RegistryError as exc:
        console.print(f"[red]cannot roll back:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(f"champion: v{old} -> v{new}")


@with_tracking_store_errors
def models(ctx: typer.Context) -> None:
    """List registered versions with their aliases and holdout metrics."""
    from rich.table import Table

    from models.registry import client_for, list_versions

    settings: Settings = ctx.obj
    versions = list_versions(client_for(settings.mlflow_tracking_uri), settings.model_name)
    table = Table(title=f"{settings.model_name} ({settings.mlflow_tracking_uri})")
    for column in ("version", "aliases", "created", "roc_auc", "pr_auc", "brier", "run"):
        table.add_column(column)
    for v in versions:
        metric = v.metrics.get
        table.add_row(
            v.version, ", ".join(v.aliases), v.created,
            f"{metric('roc_auc', float('nan')):.4f}", f"{metric('pr_auc', float('nan')):.4f}",
            f"{metric('brier', float('nan')):.4f}", v.run_id[:12],
        )  # fmt: skip
    Console().print(table)
