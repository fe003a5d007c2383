"""Feature commands: build the point-in-time training table of a dataset."""

from __future__ import annotations

import json
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from common.settings import Settings

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
    write OUT (Parquet) and OUT.schema.json (the feature spec).

    With the local engine, rows are written chunk by chunk of leads as they are computed, so
    the table is never whole in memory; OUT appears only once complete."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from features.ingest.contracts import DataValidationError
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.spec import FeatureParams
    from features.trainset.feature_table import (
        build_feature_table,
        feature_spec_for,
        stream_feature_table,
        write_feature_stream,
        write_feature_table,
    )
    from features.trainset.snapshots import SnapshotCounts

    settings: Settings = ctx.obj
    if engine not in ("local", "dask"):
        raise typer.BadParameter(f"--engine must be local or dask, got {engine!r}")
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
    counts = SnapshotCounts()
    columns = [TimeElapsedColumn(), BarColumn(), MofNCompleteColumn()]
    with ExitStack() as stack:
        progress = stack.enter_context(
            Progress(*Progress.get_default_columns()[:1], *columns, console=console)
        )
        task = progress.add_task(f"features ({engine}, leads)", total=len(loaded.leads))

        def advance(n: int) -> None:
            progress.advance(task, n)

        try:
            if engine == "local":
                # Streamed: each chunk of leads is written as it is done, so the table is
                # never whole in memory; the file appears only once complete.
                parts = stream_feature_table(
                    loaded, params, spec=spec, counts=counts, progress=advance
                )
                rows = write_feature_stream(parts, spec, out)
                positives, summary = counts.positives, counts.summary()
            else:
                from features.batch.dask_features import compute_features_distributed
                from leadscore.cluster import dask_client

                client = stack.enter_context(dask_client(scheduler))
                compute = partial(compute_features_distributed, client)
                table = build_feature_table(loaded, params, advance, spec=spec, compute=compute)
                write_feature_table(table, spec, out)
                rows, positives = len(table), int(table["label"].sum())
                summary = table.attrs["snapshots"]
        except (DataValidationError, ValueError) as exc:
            console.print(f"[red]cannot build features:[/red] {exc}")
            raise typer.Exit(code=2) from exc
    console.print(f"[green]wrote[/green] {out} ({rows:,} rows, {len(spec.names)} features)")
    typer.echo(
        json.dumps(
            {
                "rows": rows,
                "features": len(spec.names),
                "positives": positives,
                "snapshots": summary,
                "out": str(out),
            },
            indent=2,
        )
    )
