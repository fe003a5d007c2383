"""`leadscore store ...`: the lead store the service keeps (upgrade, import, export, stats).

The store is the SQLite file ``leadscore-store.sqlite`` in the data directory unless
``LEADSCORE_STORE_URL`` names another database (``postgresql+psycopg://...``); what a lead is
comes from the dataset config ``LEADSCORE_STORE_DATASET`` (default ``demo``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from common.settings import Settings

if TYPE_CHECKING:
    from store.lead_store import LeadStore

console = Console(stderr=True)
app = typer.Typer(
    help="The lead store: CRMs and CDPs write leads, events and deals into it through the "
    "service; these commands migrate it, import CRM exports, export it as canonical tables "
    "and count what it holds.",
    no_args_is_help=True,
)


def open_store(settings: Settings) -> LeadStore:
    """The settings' store, migrated to this version's schema."""
    from store.alert_rules import AlertPolicy
    from store.lead_store import LeadStore

    try:
        # Scores stored from the CLI (`score --from-store`) raise alerts like the service's.
        return LeadStore.open(
            settings.store_database_url(),
            settings.store_dataset,
            alerts=AlertPolicy.from_settings(settings),
        )
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]cannot open the lead store:[/red] {exc}")
        raise typer.Exit(code=2) from exc


def served_score_history(settings: Settings) -> Any | None:
    """The lead store's score history (what the service served), if the store exists
    (`leadscore evaluate` backtests it; evaluating never creates a store)."""
    from store.database import sqlite_path
    from store.lead_store import LeadStore

    url = settings.store_database_url()
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    from sqlalchemy.exc import SQLAlchemyError

    store = LeadStore.open(url, settings.store_dataset, upgrade=False)
    try:
        return store.history_frame()
    except SQLAlchemyError as exc:
        console.print(f"[yellow]served-score backtest skipped:[/yellow] {type(exc).__name__}")
        return None
    finally:
        store.close()


def shown_url(settings: Settings) -> str:
    """The store's URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(settings.store_database_url()).render_as_string(hide_password=True)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Create the lead store or migrate it to this version's schema (the service does this at
    start too)."""
    from store.migrate import head_revision

    settings: Settings = ctx.obj
    open_store(settings).close()
    console.print(f"lead store at {shown_url(settings)} is at schema revision {head_revision()}")


@app.command("import")
def import_command(
    ctx: typer.Context,
    dataset: Annotated[
        str | None,
        typer.Option(help="Dataset config of the export (default: LEADSCORE_STORE_DATASET)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the data files (default: settings).")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Treat orphan rows (dropped by default) as errors.")
    ] = False,
) -> None:
    """Load a CRM export into the store, validated like `leadscore validate`. Importing the
    same export again stores nothing twice; a newer export adds what is new."""
    from rich.progress import Progress

    from features.ingest.contracts import DataValidationError
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from store.crm_import import import_dataset

    settings: Settings = ctx.obj
    try:
        loaded = load_dataset(
            load_config(dataset or settings.store_dataset),
            data_dir or settings.data_dir,
            strict=strict,
        )
    except (DataValidationError, FileNotFoundError, ValueError) as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(loaded.report.summary())
    store = open_store(settings)
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("importing leads", total=len(loaded.leads))
            result = import_dataset(
                store, loaded,
                progress=lambda n: progress.advance(task, n),
            )  # fmt: skip
    except ValueError as exc:
        console.print(f"[red]cannot import:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    finally:
        store.close()
    console.print(f"[green]imported[/green] into {shown_url(settings)}")
    typer.echo(json.dumps(result.to_dict(), indent=2))


@app.command()
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder for the Parquet tables and dataset.yaml.")],
) -> None:
    """Write the store as the canonical tables (leads, events, outcomes) with a dataset config
    that reads them: `leadscore validate --dataset OUT/dataset.yaml --data-dir OUT`."""
    from features.ingest.dataset_config import load_config
    from store.canonical_export import export_store

    settings: Settings = ctx.obj
    store = open_store(settings)
    try:
        exported = export_store(store, load_config(settings.store_dataset), out)
    finally:
        store.close()
    console.print(
        f"[green]wrote[/green] {exported.leads:,} leads, {exported.events:,} events, "
        f"{exported.deals:,} deals -> {exported.folder} (config {exported.config_path.name})"
    )


@app.command()
def stats(ctx: typer.Context) -> None:
    """Count what the store holds: leads, events per type (and types no feature knows by
    name), deals, scores per model version, leads waiting for a score."""
    settings: Settings = ctx.obj
    store = open_store(settings)
    try:
        typer.echo(json.dumps(store.stats(), indent=2))
    finally:
        store.close()
