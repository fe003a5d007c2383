"""Data commands: simulate a CRM, validate a dataset against its config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from common.settings import Settings

if TYPE_CHECKING:
    from features.ingest.profile import DatasetProfile

console = Console(stderr=True)


def simulate(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder to write leads/events/outcomes/truth Parquet.")],
    leads: Annotated[int, typer.Option(min=1, help="Number of leads to simulate.")] = 10_000,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the settings seed).")] = None,
    days: Annotated[int, typer.Option(min=30, help="Length of the simulated history.")] = 730,
    base_conversion: Annotated[
        float, typer.Option(min=0.001, max=0.9, help="Target share of leads that ever buy.")
    ] = 0.10,
) -> None:
    """Simulate a B2B CRM (leads, engagement events, closed deals) with a known ground truth."""
    from rich.progress import Progress

    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm

    settings: Settings = ctx.obj
    config = SimulationConfig(
        n_leads=leads,
        seed=settings.seed if seed is None else seed,
        days=days,
        base_conversion=base_conversion,
    )
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating", total=leads)
        summary = simulate_crm(config, out, progress=lambda n: progress.advance(task, n))
    console.print(f"[green]wrote[/green] {out}")
    typer.echo(json.dumps(summary.to_dict(), indent=2, default=str))


def validate(
    ctx: typer.Context,
    dataset: Annotated[
        str, typer.Option(help="Dataset config: a YAML path or a shipped name (demo, olist, ...).")
    ],
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the data files (default: settings).")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Treat orphan rows (dropped by default) as errors.")
    ] = False,
) -> None:
    """Load a dataset, check it against its contract and profile it.

    Prints what was read, kept and dropped, the label rate, each leads column's role, type,
    missing share and distinct values, warnings (empty or constant columns) and suggestions
    (e.g. `order_by` when rows look ordered in time). Exits 2 on a broken contract."""
    from features.ingest.contracts import DataValidationError
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset, read_table
    from features.ingest.profile import profile_dataset

    settings: Settings = ctx.obj
    folder = data_dir or settings.data_dir
    try:
        config = load_config(dataset)
        loaded = load_dataset(config, folder, strict=strict)
        raw = read_table(config.leads, folder, "leads")
    except (DataValidationError, FileNotFoundError, ValueError) as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(loaded.report.summary())
    print_profile(profile_dataset(loaded, raw))


def print_profile(profile: DatasetProfile) -> None:
    """The profile as a table plus its warnings and suggestions."""
    from rich.table import Table

    if profile.label_rate is not None:
        console.print(f"label rate: [bold]{profile.label_rate:.1%}[/bold] ({profile.label_note})")
    table = Table(title="leads columns")
    for column in ("column", "role", "type", "missing", "distinct"):
        table.add_column(column, justify="right" if column in ("missing", "distinct") else "left")
    for p in profile.columns:
        table.add_row(p.column, p.role, p.type, f"{p.missing:.0%}", f"{p.distinct:,}")
    console.print(table)
    for warning in profile.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    for suggestion in profile.suggestions:
        console.print(f"[cyan]suggestion:[/cyan] {suggestion}")


def init(
    data: Annotated[Path, typer.Option(help="The export to describe: a CSV or Parquet file.")],
    label: Annotated[
        str | None, typer.Option(help="The converted / not converted column (default: guessed).")
    ] = None,
    outcomes: Annotated[
        Path | None,
        typer.Option(help="A closed-deals file: drafts a temporal config (leads + deals)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: the file's).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write the config (default: ./NAME.yaml).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Draft a dataset config from an export: every guess explained in a YAML comment.

    Sniffs the separator and encoding, infers each column's type, guesses the id, label and
    date columns, lists columns that look filled in after the outcome under `post_outcome`
    and identifiers or free text under `exclude`. Check the draft, then run `leadscore
    validate` on it."""
    from common.files import write_text_atomically
    from features.ingest.config_draft import draft_config

    if not data.exists():
        console.print(f"[red]not found:[/red] {data}")
        raise typer.Exit(code=2)
    try:
        draft = draft_config(data, label=label, outcomes=outcomes, name=name)
    except (ValueError, OSError) as exc:
        console.print(f"[red]cannot draft:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    target = out or Path(f"{draft.name}.yaml")
    if target.exists() and not force:
        console.print(f"[red]{target} exists:[/red] pass --force to overwrite, or --out")
        raise typer.Exit(code=2)
    write_text_atomically(draft.text, target)
    for note in draft.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    console.print(f"[green]wrote[/green] {target}; next:")
    typer.echo(f"  leadscore validate --dataset {target} --data-dir {data.parent}")
