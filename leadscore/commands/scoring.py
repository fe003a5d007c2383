"""`leadscore score`: nightly batch scoring of a whole dataset, or of every lead of the lead
store, with the registered model."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from common.settings import Settings

console = Console(stderr=True)


def score(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            help="Parquet file to write. If it exists, it is the previous run: "
            "`tier_changed` compares against it, then it is replaced atomically."
        ),
    ],
    dataset: Annotated[
        str | None,
        typer.Option(help="Dataset config: a YAML path or a shipped name (demo, olist, ...)."),
    ] = None,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store",
            help="Score every lead of the lead store as of now (instead of --dataset) and "
            "store the scores as the leads' current scores.",
        ),
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the data files (default: settings).")
    ] = None,
    alias: Annotated[str, typer.Option(help="Registry alias to score with.")] = "champion",
    version: Annotated[
        str | None, typer.Option(help="A model version (overrides --alias).")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            help="Score as of this UTC time (default: the end of the data; now with --from-store)."
        ),
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
    """Score every lead of a dataset, or of the lead store, as of one moment (nightly batch
    scoring).

    Writes probability, score, tier, sales_ready, fit, engagement, top reasons, model version
    and `tier_changed` against the previous run's output, atomically: the file a reverse-ETL
    tool (Hightouch, Census) upserts into the CRM by lead id."""
    from rich.table import Table

    from features.ingest.contracts import DataValidationError
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from leadscore.commands.model_choice import model_for
    from models.batch_scoring import tier_summary, write_scores_atomically

    settings: Settings = ctx.obj
    if (dataset is None) == (not from_store):
        raise typer.BadParameter("give either --dataset CONFIG or --from-store")
    if engine not in ("local", "dask"):
        raise typer.BadParameter(f"--engine must be local or dask, got {engine!r}")
    with ExitStack() as stack:
        store = exported = None
        try:
            if from_store:
                store, loaded, exported = _from_store(settings, stack)
                as_of = as_of or datetime.now(UTC).replace(microsecond=0)
            else:
                loaded = load_dataset(load_config(dataset), data_dir or settings.data_dir)
        except (DataValidationError, FileNotFoundError, ValueError) as exc:
            console.print(f"[red]invalid:[/red] {exc}")
            raise typer.Exit(code=2) from exc
        ref = dataset or settings.store_dataset
        _, chosen, model = model_for(settings, loaded, ref, alias, version)
        scores = _score(loaded, model, chosen, out, as_of, explain, engine, scheduler, settings)
        if store is not None and exported is not None:
            from store.batch_scores import record_batch_scores
            from store.records import to_micros

            with console.status("storing the scores as the leads' current scores"):
                changed = record_batch_scores(
                    store, scores, exported.revisions, to_micros(datetime.now(UTC))
                )
            console.print(f"{changed:,} stored scores replaced in the lead store")
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


def _from_store(settings: Settings, stack: ExitStack) -> tuple[Any, Any, Any]:
    """The store (closed with ``stack``) and its leads loaded from an export in a temporary
    folder."""
    import tempfile

    from features.ingest.dataset_config import load_config
    from leadscore.commands.store import open_store
    from store.canonical_export import load_store_dataset

    store = open_store(settings)
    stack.callback(store.close)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="leadscore-store-")))
    with console.status("exporting the lead store"):
        loaded, exported = load_store_dataset(store, load_config(settings.store_dataset), folder)
    console.print(loaded.report.summary())
    return store, loaded, exported


def _score(
    loaded: Any,
    model: Any,
    chosen: str,
    out: Path,
    as_of: datetime | None,
    explain: int,
    engine: str,
    scheduler: str | None,
    settings: Settings,
) -> Any:
    """Features and scores of every lead, with tier changes against ``out``'s last run."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from features.batch.batch_engine import compute_features
    from models.batch_scoring import read_previous, score_dataset, score_features_in_chunks

    previous = read_previous(out)
    columns = [TimeElapsedColumn(), BarColumn(), MofNCompleteColumn()]
    with ExitStack() as stack:
        compute, scorer = compute_features, score_features_in_chunks
        if engine == "dask":
            from features.batch.dask_features import compute_features_distributed
            from leadscore.cluster import dask_client
            from models.batch_scoring import score_features_distributed

            dask = stack.enter_context(dask_client(scheduler))
            compute = partial(compute_features_distributed, dask)
            scorer = partial(score_features_distributed, dask)
        progress = stack.enter_context(
            Progress(*Progress.get_default_columns()[:1], *columns, console=console)
        )
        tasks = {
            "features": progress.add_task(f"features ({engine})", total=len(loaded.leads)),
            "scores": progress.add_task(f"scores ({engine})", total=None),
        }
        return score_dataset(
            model, loaded, as_of=as_of, explain_k=explain, compute=compute, score=scorer,
            previous=previous, model_version=chosen, progress=lambda stage, n: progress.advance(tasks[stage], n),
        )  # fmt: skip
