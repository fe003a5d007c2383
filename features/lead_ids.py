"""Lead ids looked up in the leads table by Arrow hashing: each table's ids as positions, as
runs of one lead's rows where a table comes lead by lead, and hashed on every core where ids
in no such order outnumber the leads. Unknown leads are an error naming their tables."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features import contracts as c
from features.contracts import DataValidationError, Problem, examples_of

_RUN_SAMPLE = 1 << 16  # rows looked at to tell whether a table's lead ids come in runs
_MIN_RUN = 4  # rows per run, on average, for runs to be worth finding
_PARALLEL_KEYS_PER_VALUE = 4  # ids per lead from which every core hashes a slice of them


def default_threads() -> int:
    """The CPUs this process may run on (its affinity, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def positions_in(values: pd.Series, universe: pd.Series) -> np.ndarray:
    """Position of each value in ``universe`` (-1 when absent), hashed by Arrow: on string ids
    this is ~8x faster than ``pd.Index.get_indexer``, which converts to Python objects."""
    found = pc.index_in(_arrow_strings(values), value_set=_arrow_strings(universe))
    return found.fill_null(-1).to_numpy(zero_copy_only=False)  # int32: half of int64's memory


def _arrow_strings(values: pd.Series) -> pa.Array:
    array = pa.array(values, from_pandas=True)
    return array if pa.types.is_large_string(array.type) else array.cast(pa.large_string())


class LeadRuns(NamedTuple):
    """A table's rows as runs of consecutive rows with one lead id: ``position`` is each run's
    position in the leads table, ``ends`` the runs' exclusive row ends (``None``: every row
    is a run of its own)."""

    position: np.ndarray
    ends: np.ndarray | None

    def per_row(self) -> np.ndarray:
        """The position of each row."""
        if self.ends is None:
            return self.position
        return np.repeat(self.position, np.diff(self.ends, prepend=0))


def lead_positions(lead_ids: pd.Series, *tables: tuple[pd.Series, str]) -> list[LeadRuns]:
    """Position in ``lead_ids`` of each value of each ``(values, table name)``, as runs of
    equal ids when a table holds them (events exported lead by lead); unknown leads are an
    error naming their tables. The tables are hashed together, so the hash set of the lead ids
    is built once (per core, see :func:`_index_in`): ~0.25 s for 1M leads, which a call per
    table paid again."""
    runs = [_runs_of(_arrow_strings(values)) for values, _ in tables]
    keys = pa.chunked_array(
        [key for chunk_keys, _ in runs for key in chunk_keys], type=pa.large_string()
    )
    found = _index_in(keys, _arrow_strings(lead_ids), default_threads())
    bounds = np.cumsum([sum(len(key) for key in chunk_keys) for chunk_keys, _ in runs])[:-1]
    if found.null_count:  # unknown leads: nulls
        unknown = np.split(found.is_null().to_numpy(zero_copy_only=False), bounds)
        absent_rows = [
            LeadRuns(absent, ends).per_row()
            for absent, (_, ends) in zip(unknown, runs, strict=True)
        ]
        raise DataValidationError(
            [
                Problem(
                    table, c.LEAD_ID, "lead not in the leads table", int(absent.sum()),
                    examples_of(values[absent]),
                )
                for (values, table), absent in zip(tables, absent_rows, strict=True)
                if absent.any()
            ]
        )  # fmt: skip
    # No nulls: Arrow's int32 positions are read as they are (filling nulls first cost a copy
    # as large as the events, ~0.3 s for 25M).
    positions = np.split(found.to_numpy(), bounds)
    return [LeadRuns(at, ends) for at, (_, ends) in zip(positions, runs, strict=True)]


def _index_in(keys: pa.ChunkedArray, value_set: pa.Array, threads: int) -> pa.ChunkedArray:
    """``pc.index_in`` of many keys in ``threads`` slices at once (Arrow releases the GIL).
    Each slice builds its own hash set of ``value_set``, which pays when lookups dominate:
    25M events' ids in time order (each lookup a cache miss in the 1M-lead set) took ~4.7 s
    on one thread."""
    if threads <= 1 or len(keys) < _PARALLEL_KEYS_PER_VALUE * max(len(value_set), 1):
        return pc.index_in(keys, value_set=value_set)
    size = -(-len(keys) // threads)
    with ThreadPoolExecutor(threads, thread_name_prefix="features-hash") as pool:
        parts = pool.map(
            lambda low: pc.index_in(keys.slice(low, size), value_set=value_set),
            range(0, len(keys), size),
        )
        return pa.chunked_array([chunk for part in parts for chunk in part.chunks], pa.int32())


def _runs_of(values: pa.Array | pa.ChunkedArray) -> tuple[list[pa.Array], np.ndarray | None]:
    """``(keys, ends)``: the value of each run of equal values and the runs' exclusive ends,
    when the first rows come in runs of ``_MIN_RUN`` rows on average; else the values
    themselves and ``None``. For 25M events of 1M leads, hashing the runs' 1M ids instead of
    every event's took lead_positions from ~0.7 s to ~0.45 s, finding the runs included;
    rows in no such order are not searched for runs."""
    chunks = _chunks_of(values)
    sample = _chunks_of(values.slice(0, _RUN_SAMPLE))
    sample_runs = sum(len(pc.run_end_encode(part).values) for part in sample)
    if len(values) < _RUN_SAMPLE or sample_runs * _MIN_RUN > _RUN_SAMPLE:
        return chunks, None
    keys, ends, start = [], [], 0
    for chunk in chunks:  # a run cut by a chunk boundary is two runs of the same lead
        encoded = pc.run_end_encode(chunk, run_end_type=pa.int64())
        keys.append(encoded.values)
        ends.append(encoded.run_ends.to_numpy() + start)
        start += len(chunk)
    return keys, np.concatenate(ends)


def _chunks_of(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]
