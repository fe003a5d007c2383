"""`leadscore demo`: the whole product on a simulated CRM, one step after another."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leadscore.settings import Settings

console = Console(stderr=True)


def demo(
    ctx: typer.Context,
    workdir: Annotated[
        Path, typer.Option(help="Folder for the demo's data, MLflow store, logs.")
    ] = Path(".demo"),
    leads: Annotated[int, typer.Option(min=1000, help="Leads to simulate.")] = 20_000,
) -> None:
    """Simulate a CRM, build point-in-time features and show what the data looks like."""
    from features.config import load_config
    from features.loaders import load_dataset
    from features.pipeline import build_feature_table, write_feature_table
    from features.simulator import SimulationConfig, simulate_crm
    from features.spec import FeatureParams, FeatureSpec

    settings: Settings = ctx.obj
    data = workdir / "data"
    console.rule("1. simulate a CRM")
    summary = simulate_crm(SimulationConfig(n_leads=leads, seed=settings.seed), data)
    console.print(
        f"{summary.leads:,} leads, {summary.events:,} events, {summary.outcomes:,} closed deals; "
        f"{summary.conversion_rate:.1%} of leads bought ({summary.seconds:.1f}s)"
    )
    console.rule("2. load and validate")
    dataset = load_dataset(load_config("demo"), data)
    console.print(dataset.report.summary())
    console.rule("3. point-in-time features")
    params = FeatureParams(
        horizon_days=settings.horizon_days, every_days=settings.snapshot_every_days
    )
    table = build_feature_table(dataset, params)
    out = write_feature_table(
        table, FeatureSpec.from_dict(table.attrs["spec"]), workdir / "features.parquet"
    )
    console.print(f"{table.attrs['snapshots']}\nwrote {out}")
