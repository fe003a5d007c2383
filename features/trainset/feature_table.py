"""Glue: dataset -> snapshots + labels + features, and writing the result with its schema."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from common.files import write_atomically, write_text_atomically
from features.batch.batch_engine import compute_features
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.ingest.dataset import Dataset
from features.spec import FeatureParams, FeatureSpec, build_feature_spec
from features.trainset.arrow_tables import arrow_schema, arrow_table
from features.trainset.snapshots import SnapshotCounts, SnapshotSet, build_snapshots
from features.trainset.training_rows import iter_training_rows


def feature_spec_for(dataset: Dataset, params: FeatureParams) -> FeatureSpec:
    """The spec for a dataset: its declared attributes and the event types it contains."""
    attributes = [(a.name, a.type.value, a.label) for a in dataset.attributes]
    missing = [name for name, _, _ in attributes if name not in dataset.leads.columns]
    if missing:
        raise ValueError(f"leads: declared attribute columns missing: {missing}")
    if dataset.static:
        return build_feature_spec(attributes, (), params, static=True)
    types = dataset.events[c.EVENT_TYPE].dropna().unique().tolist()
    with_events = dataset.config.events is not None
    return build_feature_spec(
        attributes, types, params, with_events=with_events,
        with_opportunities=dataset.has_opportunity_dates,
    )  # fmt: skip


def build_feature_table(
    dataset: Dataset,
    params: FeatureParams,
    progress: Callable[[int], None] | None = None,
    *,
    spec: FeatureSpec | None = None,
    observed_until: pd.Timestamp | None = None,
    compute: Callable[..., pd.DataFrame] = compute_features,
) -> pd.DataFrame:
    """Labelled training rows: lead_id, as_of, label, then the spec's features.

    ``compute`` is the engine (default: the local batch engine; e.g. a
    ``functools.partial(compute_features_distributed, client)`` for Dask).

    The spec (built from the dataset unless given) is attached as ``table.attrs["spec"]``
    (its dict form) and the snapshot summary as ``table.attrs["snapshots"]``.
    """
    spec = spec or feature_spec_for(dataset, params)
    snapshots = build_snapshots_for(dataset, params, observed_until)
    labelled = snapshots.labelled
    table = compute(
        spec, dataset.leads, dataset.events, dataset.outcomes, labelled,
        open_deals=dataset.open_deals, progress=progress,
    )  # fmt: skip
    table.insert(2, c.LABEL, labelled[c.LABEL].to_numpy())
    table.attrs["spec"] = spec.to_dict()
    table.attrs["snapshots"] = snapshots.summary()
    return table


def build_snapshots_for(
    dataset: Dataset, params: FeatureParams, observed_until: pd.Timestamp | None = None
) -> SnapshotSet:
    """Snapshots with the dataset's grid settings (:func:`grid_settings`)."""
    every_days, horizon_days = grid_settings(dataset, params)
    return build_snapshots(dataset, every_days, horizon_days, observed_until=observed_until)


def grid_settings(dataset: Dataset, params: FeatureParams) -> tuple[int, int]:
    """(every_days, horizon_days): the dataset config's, falling back to ``params``."""
    config = dataset.config.snapshots
    return config.every_days or params.every_days, config.horizon_days or params.horizon_days


def stream_feature_table(
    dataset: Dataset,
    params: FeatureParams,
    *,
    spec: FeatureSpec | None = None,
    counts: SnapshotCounts | None = None,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> Iterator[pd.DataFrame]:
    """The rows of :func:`build_feature_table`, chunk by chunk of leads (in lead-rank order),
    without holding the snapshot or feature table whole; ``options`` go to
    :func:`features.trainset.training_rows.iter_training_rows`."""
    every_days, horizon_days = grid_settings(dataset, params)
    return iter_training_rows(
        spec or feature_spec_for(dataset, params), dataset, every_days, horizon_days,
        counts=counts, progress=progress, **options,
    )  # fmt: skip


def schema_path(out_path: Path) -> Path:
    """Where the feature schema of ``out_path`` lives: ``<out>.schema.json``."""
    return out_path.with_name(out_path.name + ".schema.json")


def write_feature_table(table: pd.DataFrame, spec: FeatureSpec, out_path: Path) -> Path:
    """Write the table as Parquet and the spec as ``<out>.schema.json``, each atomically."""
    plain = table.copy(deep=False)
    plain.attrs = {}  # the spec and summary go to the schema file, not the Parquet metadata
    write_feature_stream([plain], spec, out_path)
    return Path(out_path)


def write_feature_stream(parts: Iterable[pd.DataFrame], spec: FeatureSpec, out_path: Path) -> int:
    """Write chunks of training rows as one Parquet file (a row group per chunk) and the spec
    as ``<out>.schema.json``, each atomically; only one chunk is in memory at a time. Returns
    the number of rows."""
    import pyarrow.parquet as pq

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    columns: list[str] = []

    def write(tmp: str) -> None:
        nonlocal rows, columns
        writer = None
        try:
            for part in parts:
                _check_columns(part, spec)
                if writer is None:
                    schema = arrow_schema(part)
                    writer = pq.ParquetWriter(tmp, schema, **_parquet_options(schema))
                    columns = list(part.columns)
                writer.write_table(arrow_table(part, schema))
                rows += len(part)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise ValueError("no leads: nothing to write")

    write_atomically(out_path, write)
    schema = {"spec": spec.to_dict(), "rows": rows, "columns": columns}
    write_text_atomically(json.dumps(schema, indent=2, default=str), schema_path(out_path))
    return rows


def _parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """Dictionaries for all but the float columns, statistics for the keys alone: hashing
    every float into a dictionary and keeping every feature's min/max cost a large share of
    the writing time for a file only a little smaller."""
    dictionary = [field.name for field in schema if not pa.types.is_floating(field.type)]
    keys = [name for name in (c.LEAD_ID, AS_OF, c.LABEL) if name in schema.names]
    return {"use_dictionary": dictionary, "write_statistics": keys}


def _check_columns(table: pd.DataFrame, spec: FeatureSpec) -> None:
    missing = [name for name in [c.LEAD_ID, AS_OF, *spec.names] if name not in table.columns]
    if missing:
        raise ValueError(f"feature table lacks columns of its spec: {missing[:10]}")
