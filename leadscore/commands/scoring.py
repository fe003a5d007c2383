"""`leadscore score`: nightly batch scoring of a whole dataset with the registered model."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from common.settings import Settings

console = Console(stderr=True)


def score(
    ctx: typer.Context,
    dataset: Annotated[
        str, typer.Option(help="Dataset config: a YAML path or a shipped name (demo, olist, ...).")
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Parquet file to write. If it exists, it is the previous run: "
            "`tier_changed` compares against it, then it is replaced atomically."
        ),
    ],
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the data files (default: settings).")
    ] = None,
    alias: Annotated[str, typer.Option(help="Registry alias to score with.")] = "champion",
    version: Annotated[
        str | None, typer.Option(help="A model version (overrides --alias).")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(help="Score as of this UTC time (default: the end of the data)."),
    ] = None,
    explain: Annotated[int, typer.Option(min=0, max=20, help="Reasons per lead.")] = 3,
    engine: Annotated[
        str, typer.Option(help="local: this machine; dask: the workers of a Dask cluster.")
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://host:8786); default: a local cluster."),
    ] = None,
) -> None:
    """Score every lead of a dataset as of one moment (nightly batch scoring).

    Writes probability, score, tier, sales_ready, fit, engagement, top reasons, model version
    and `tier_changed` against the previous run's output, atomically."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from features.batch.batch_engine import compute_features
    from features.ingest.contracts import DataValidationError
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from leadscore.commands.model_choice import model_for
    from models.batch_scoring import (
        read_previous,
        score_dataset,
        score_features_in_chunks,
        tier_summary,
        write_scores_atomically,
    )

    settings: Settings = ctx.obj
    if engine not in ("local", "dask"):
        raise typer.BadParameter(f"--engine must be local or dask, got {engine!r}")
    try:
        loaded = load_dataset(load_config(dataset), data_dir or settings.data_dir)
    except (DataValidationError, FileNotFoundError, ValueError) as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    _, chosen, model = model_for(settings, loaded, dataset, alias, version)
    previous = read_previous(out)
    columns = [TimeElapsedColumn(), BarColumn(), MofNCompleteColumn()]
    with ExitStack() as stack:
        compute, scorer = compute_features, score_features_in_chunks
        if engine == "dask":
            from features.batch.dask_features import compute_features_distributed
            from leadscore.cluster import dask_client
            from models.batch_scoring import score_features_distributed

            dask = stack.enter_context(
                dask_client(scheduler, arrow_memory_pool=settings.arrow_memory_pool)
            )
            compute = partial(compute_features_distributed, dask)
            scorer = partial(score_features_distributed, dask)
        progress = stack.enter_context(
            Progress(*Progress.get_default_columns()[:1], *columns, console=console)
        )
        tasks = {
            "features": progress.add_task(f"features ({engine})", total=len(loaded.leads)),
            "scores": progress.add_task(f"scores ({engine})", total=None),
        }
        scores = score_dataset(
            model, loaded, as_of=as_of, explain_k=explain, compute=compute, score=scorer,
            previous=previous, model_version=chosen, progress=lambda stage, n: progress.advance(tasks[stage], n),
        )  # fmt: skip
    write_scores_atomically(scores, out)
    table = Table(title=f"{len(scores):,} leads scored with v{chosen} -> {out}")
    summary = tier_summary(scores)
    for column in ["tier", *summary.columns]:
        table.add_column(column, justify="right")
    for tier, row in summary.iterrows():
        cells = [f"{v:,.0f}" if float(v).is_integer() else f"{v:.4f}" for v in row.tolist()]
        table.add_row(str(tier), *cells)
    console.print(table)
    changed = int(scores["tier_changed"].sum())
    console.print(f"{changed:,} leads changed tier since the previous run")
