"""Data commands: simulate a CRM, validate a dataset against its config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from common.settings import Settings

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
    """Load a dataset, check it against its contract and report what was read and dropped."""
    from features.ingest.contracts import DataValidationError
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset

    settings: Settings = ctx.obj
    try:
        loaded = load_dataset(load_config(dataset), data_dir or settings.data_dir, strict=strict)
    except (DataValidationError, FileNotFoundError, ValueError) as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(loaded.report.summary())
