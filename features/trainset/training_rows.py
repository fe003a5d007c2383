"""Training rows straight from a dataset: the batch engine lays and labels the snapshots itself.

The rows are those of ``build_snapshots(...).labelled`` through
:func:`features.batch.batch_engine.compute_features`, but the snapshot grid is laid per chunk of leads from
numbers (``features.trainset.snapshots.lay_snapshots``): no snapshot table of lead-id strings is built
and hashed back to leads. :func:`iter_training_rows` yields each chunk as it is done (memory
bounded by the chunk), in lead-rank order: an account's leads together, each lead's
snapshots in time order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from features.batch.batch_engine import (
    DEFAULT_CHUNK_LEADS,
    assemble_frame,
    attribute_arrays,
    chunk_bounds,
    compute_features,
    in_threads,
)
from features.batch.grouping import Prepared, utc_datetimes
from features.batch.kernel_layout import computed_names
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.ingest.dataset import Dataset
from features.spec import FeatureSpec
from features.trainset.snapshots import (
    GridRules,
    SnapshotCounts,
    build_snapshots,
    created_at_ns,
    lay_snapshots,
    observed_until_of,
)

__all__ = ["iter_training_rows"]


def iter_training_rows(
    spec: FeatureSpec,
    dataset: Dataset,
    every_days: int,
    horizon_days: int,
    *,
    observed_until: pd.Timestamp | None = None,
    counts: SnapshotCounts | None = None,
    chunk_leads: int = DEFAULT_CHUNK_LEADS,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[pd.DataFrame]:
    """Training rows (lead_id, as_of, label, then the spec's features) chunk by chunk of
    leads, each chunk laying its own snapshots: the rows of ``build_snapshots(...).labelled``
    through :func:`compute_features`, but neither the snapshot table nor the feature table is
    ever whole, so memory beyond the inputs stays bounded by the chunk size. Rows come in
    lead-rank order (an account's leads together), each lead's in time order. ``counts``, if
    given, is filled in as chunks finish (for :meth:`SnapshotCounts.summary`)."""
    counts = counts if counts is not None else SnapshotCounts()
    if dataset.static:  # one row per lead and no time: nothing to stream
        yield _static_rows(spec, dataset, every_days, horizon_days, counts, progress)
        return
    leads = dataset.leads
    until = observed_until if observed_until is not None else observed_until_of(dataset)
    rules = GridRules.of(dataset.config.snapshots, every_days, horizon_days, until)
    created_ns = created_at_ns(leads)
    engine = Prepared(spec, leads, dataset.events, dataset.outcomes, open_deals=dataset.open_deals)
    n_features = len(computed_names(spec))
    lead_ids = leads[c.LEAD_ID].array
    attributes = attribute_arrays(spec, leads)

    def chunk(low: int, high: int) -> tuple[pd.DataFrame, int, int, int]:
        # Snapshots and the frame are made in the worker thread too: the kernels and Arrow's
        # takes of the id strings release the GIL and overlap with the other chunks.
        laid = lay_snapshots(
            created_ns[engine.lead_of_rank[low:high]], low, engine.won_offsets, engine.won_ns,
            rules,
        )  # fmt: skip
        rank, as_of_ns = laid.lead[laid.observed], laid.as_of_ns[laid.observed]
        offsets = np.r_[0, np.cumsum(np.bincount(rank - low, minlength=high - low))]
        block = np.empty((n_features, rank.size))
        engine.fill(low, high, block, np.arange(rank.size), queries=(offsets, as_of_ns))
        query_lead = engine.lead_of_rank[rank]
        keys = {
            c.LEAD_ID: lead_ids.take(query_lead), AS_OF: utc_datetimes(as_of_ns),
            c.LABEL: laid.label,
        }  # fmt: skip
        frame = assemble_frame(spec, attributes, keys, query_lead, block)
        return frame, int(laid.label.sum()), int((~laid.observed).sum()), laid.excluded

    bounds = chunk_bounds(engine.account_start, chunk_leads)
    for (low, high), (frame, positives, unlabelled, excluded) in in_threads(chunk, bounds, threads):
        counts.labelled += len(frame)
        counts.positives += positives
        counts.unlabelled += unlabelled
        counts.excluded_already_won += excluded
        if progress is not None:
            progress(high - low)
        yield frame


def _static_rows(
    spec: FeatureSpec,
    dataset: Dataset,
    every_days: int,
    horizon_days: int,
    counts: SnapshotCounts,
    progress: Callable[[int], None] | None,
) -> pd.DataFrame:
    """A static dataset's rows: one per lead, no time, the label as given."""
    snapshots = build_snapshots(dataset, every_days, horizon_days)
    table = compute_features(
        spec, dataset.leads, dataset.events, dataset.outcomes, snapshots.labelled,
        progress=progress,
    )  # fmt: skip
    table.insert(2, c.LABEL, snapshots.labelled[c.LABEL].to_numpy())
    counts.labelled, counts.positives = len(table), int(table[c.LABEL].sum())
    return table
