"""Batch engine: the spec's features for many (lead, as_of) snapshots at once.

How: rows of every table are grouped by lead and put in time order
(``features.batch.grouping``), then a compiled kernel (``features.batch.kernels.sweep``)
sweeps each lead's snapshots in time order with one pointer per window over its events: no
joins, no (snapshot x event) pairs, exact integer time comparisons shared with the online
engine. ``benchmarks/feature_engines.py`` measures it against a plain pandas merge + group-by of the
same spec and DuckDB's range join (benchmarks/README.md has the results).

:func:`compute_features` takes given snapshots (scoring, Dask partitions) and returns one
table; ``features.trainset.training_rows`` lays and labels the snapshots inside the engine instead.

Memory: the events are held once more as lead-grouped arrays (10 bytes per event: time and
type code; preparing them takes a row order of 8 bytes per event for a while); beyond that, work is chunked over leads (whole accounts stay in one chunk so
account roll-ups see every colleague), so the streamed path's working set is the chunk's.

Time rule (see ``features.spec``): as_of truncated to whole seconds; events with
``occurred_at <= as_of`` count; window ``w`` = ``(as_of - w days, as_of]``.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray
from pandas.api.internals import create_dataframe_from_blocks
from pandas.arrays import NumpyExtensionArray

from features.batch.grouping import Prepared, default_threads
from features.batch.kernel_layout import computed_names
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF, DataValidationError, Problem, examples_of
from features.ingest.lead_keys import lead_positions
from features.spec import FeatureSpec

__all__ = ["AS_OF", "compute_features"]

# Leads per chunk: small enough that threads balance and a streamed chunk's frame is small,
# large enough that per-chunk Python overhead stays negligible next to the kernel.
DEFAULT_CHUNK_LEADS = 2000


def compute_features(
    spec: FeatureSpec,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    snapshots: pd.DataFrame,
    *,
    chunk_leads: int = DEFAULT_CHUNK_LEADS,
    threads: int | None = None,
    open_deals: pd.DataFrame | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """One row per snapshot (same order as ``snapshots``): lead_id, as_of, then spec features.

    ``snapshots`` has ``lead_id`` and ``as_of``; every lead must exist in ``leads``. In static
    mode only attributes are computed and ``as_of`` may be NaT. ``open_deals`` (lead_id,
    opened_at) are deals still open at export; with ``outcomes``' opened_at they make the
    open-opportunity features, when the spec has them. ``progress(n)`` is called with
    the number of leads finished after each chunk. ``threads`` chunks are computed at once
    (default: the CPUs this process may use); the result does not depend on it.
    """
    query_lead = _query_leads(leads, snapshots)
    names = computed_names(spec)
    # Chunks write straight into one (features x rows) block in snapshot order: pandas takes
    # it as its single float block, with no per-chunk frames to concatenate and reorder.
    block = np.empty((len(names), len(snapshots)), dtype=np.float64)
    if spec.static:  # the attributes alone: nothing to compute
        if progress is not None:
            progress(len(leads))
    else:
        engine = Prepared(spec, leads, events, outcomes, snapshots, query_lead, open_deals)

        def fill(low: int, high: int) -> None:
            engine.fill(low, high, block, engine.query_order[engine.rows(low, high)])

        bounds = chunk_bounds(engine.account_start, chunk_leads)
        for (low, high), _ in in_threads(fill, bounds, threads):
            if progress is not None:
                progress(high - low)
    return assemble_frame(
        spec, attribute_arrays(spec, leads), _snapshot_keys(snapshots), query_lead, block
    )


def in_threads(
    task: Callable[[int, int], object], bounds: list[tuple[int, int]], threads: int | None
) -> Iterator[tuple[tuple[int, int], object]]:
    """``task(low, high)`` over every chunk, results in order, ``threads`` at a time. The
    kernels release the GIL, so threads use every core without copying inputs into
    processes. At most ``2 * threads`` chunks are in flight, so memory stays bounded by the
    chunk size."""
    workers = max(1, min(threads or default_threads(), len(bounds) or 1))
    if workers == 1:
        for low, high in bounds:
            yield (low, high), task(low, high)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="features") as pool:
        pending: deque = deque()
        for low, high in bounds:
            pending.append(((low, high), pool.submit(task, low, high)))
            if len(pending) >= 2 * workers:
                span, future = pending.popleft()
                yield span, future.result()
        while pending:
            span, future = pending.popleft()
            yield span, future.result()


def _snapshot_keys(snapshots: pd.DataFrame) -> dict[str, object]:
    """The snapshots' lead_id (as strings) and as_of, as the frame's leading columns."""
    return {c.LEAD_ID: snapshots[c.LEAD_ID].astype("str").array, AS_OF: snapshots[AS_OF].array}


def _query_leads(leads: pd.DataFrame, snapshots: pd.DataFrame) -> np.ndarray:
    """Position in ``leads`` of each snapshot's lead; unique ids and known leads required."""
    lead_ids = pd.Index(leads[c.LEAD_ID])
    if not lead_ids.is_unique:
        raise DataValidationError(
            [Problem("leads", c.LEAD_ID, "duplicate lead ids", int(lead_ids.duplicated().sum()),
                     examples_of(leads[c.LEAD_ID][lead_ids.duplicated()]))]
        )  # fmt: skip
    return lead_positions(leads[c.LEAD_ID], (snapshots[c.LEAD_ID], "snapshots"))[0].per_row()


def attribute_arrays(spec: FeatureSpec, leads: pd.DataFrame) -> dict[str, ExtensionArray]:
    """Each declared attribute's column of ``leads``, fetched once for every chunk's takes."""
    return {feature.name: leads[feature.name].array for feature in spec.of_family("attribute")}


def assemble_frame(
    spec: FeatureSpec,
    attributes: dict[str, ExtensionArray],
    keys: dict[str, object],
    query_lead: np.ndarray,
    block: np.ndarray,
) -> pd.DataFrame:
    """The leading ``keys`` columns (lead_id, as_of, ...: arrays of one row per snapshot), the
    attributes (``attributes``' arrays, from :func:`attribute_arrays`, taken per row) and the
    computed features (``block``: one row per computed feature, in spec order).

    The frame is made from its blocks (``pandas.api.internals``): ``block`` is pandas' float
    block as it is, not copied, and no column is inferred or checked again (concatenating
    frames would copy the block under the GIL, once per chunk)."""
    columns = dict(keys)
    for feature in spec.of_family("attribute"):
        dtype = "str" if feature.kind == "categorical" else "float64"
        values = attributes[feature.name].take(query_lead)
        columns[feature.name] = values if values.dtype == dtype else values.astype(dtype)
    names = computed_names(spec)
    blocks = [(_block_values(values), np.array([i])) for i, values in enumerate(columns.values())]
    if names:
        blocks.append((block, np.arange(len(columns), len(columns) + len(names))))
    frame = create_dataframe_from_blocks(
        blocks, index=pd.RangeIndex(len(query_lead)), columns=pd.Index([*columns, *names])
    )
    if list(columns)[len(keys) :] + names != spec.names:  # a hand-made spec order
        frame = frame[[*keys, *spec.names]]
    return frame


def _block_values(values: object) -> np.ndarray | ExtensionArray:
    """One column as a pandas block holds it: numpy values as a row of a 2-D array,
    extension arrays (strings, timestamps with their zone) as they are."""
    if isinstance(values, pd.Index | pd.Series):
        values = values.array
    if isinstance(values, NumpyExtensionArray):
        values = values.to_numpy()
    return values.reshape(1, -1) if isinstance(values, np.ndarray) else values


def chunk_bounds(account_start: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Rank ranges of about ``size`` leads that never split an account."""
    n = account_start.size
    bounds = [0]
    while bounds[-1] < n:
        target = min(bounds[-1] + max(size, 1), n)
        end = n if target >= n else int(account_start[target])
        if end <= bounds[-1]:  # one account bigger than a chunk: take it whole
            end = int(np.searchsorted(account_start, bounds[-1], side="right"))
        bounds.append(end)
    return list(itertools.pairwise(bounds))
