"""Feature commands: build the point-in-time training table of a dataset."""

from __future__ import annotations

import json
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leadscore.settings import Settings

console = Console(stderr=True)

app = typer.Typer(
    help="Point-in-time features: snapshots, labels and the feature table.",
    no_args_is_help=True,
)


@app.command()
def build(
    ctx: typer.Context,
    dataset: Annotated[
        str, typer.Option(help="Dataset config: a YAML path or a shipped name (demo, olist, ...).")
    ],
    out: Annotated[Path, typer.Option(help="Parquet file to write (schema next to it).")],
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the data files (default: settings).")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(help="local: this process; dask: the workers of a Dask cluster."),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://host:8786); default: a local cluster."),
    ] = None,
) -> None:
    """Load a dataset, lay snapshots over its history, label them and compute every feature;
    write OUT (Parquet) and OUT.schema.json (the feature spec)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from features.batch import compute_features
    from features.config import load_config
    from features.contracts import DataValidationError
    from features.loaders import load_dataset
    from features.pipeline import build_feature_table, feature_spec_for, write_feature_table
    from features.spec import FeatureParams, FeatureSpec

    settings: Settings = ctx.obj
    try:
        config = load_config(dataset)
        loaded = load_dataset(config, data_dir or settings.data_dir)
    except (DataValidationError, FileNotFoundError, ValueError) as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    params = FeatureParams(
        horizon_days=config.snapshots.horizon_days or settings.horizon_days,
        every_days=config.snapshots.every_days or settings.snapshot_every_days,
    )
    spec = feature_spec_for(loaded, params)
    columns = [TimeElapsedColumn(), BarColumn(), MofNCompleteColumn()]
    with ExitStack() as stack:
        compute = compute_features
        if engine == "dask":
            from features.distributed import compute_features_distributed
            from leadscore.cluster import dask_client

            client = stack.enter_context(dask_client(scheduler))
            compute = partial(compute_features_distributed, client)
        elif engine != "local":
            raise typer.BadParameter(f"--engine must be local or dask, got {engine!r}")
        progress = stack.enter_context(
            Progress(*Progress.get_default_columns()[:1], *columns, console=console)
        )
        task = progress.add_task(f"features ({engine}, leads)", total=len(loaded.leads))
        try:
            table = build_feature_table(
                loaded, params, lambda n: progress.advance(task, n), spec=spec, compute=compute
            )
        except (DataValidationError, ValueError) as exc:
            console.print(f"[red]cannot build features:[/red] {exc}")
            raise typer.Exit(code=2) from exc
    written = write_feature_table(table, FeatureSpec.from_dict(table.attrs["spec"]), out)
    console.print(
        f"[green]wrote[/green] {written} ({len(table):,} rows, {len(spec.names)} features)"
    )
    typer.echo(
        json.dumps(
            {
                "rows": len(table),
                "features": len(spec.names),
                "positives": int(table["label"].sum()),
                "snapshots": table.attrs["snapshots"],
                "out": str(written),
            },
            indent=2,
        )
    )
