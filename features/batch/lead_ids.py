"""Lead ids looked up in the leads table: each table's ids as positions, as runs of one lead's
rows where a table comes lead by lead, hashed into cache-sized partitions on every core (see
:mod:`features.batch.kernels.id_kernels`). Unknown leads are an error naming their tables."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.batch.kernels import id_kernels
from features.batch.kernels.group_kernels import even_ranges, slice_cursors
from features.ingest import contracts as c
from features.ingest.contracts import DataValidationError, Problem, examples_of

_RUN_SAMPLE = 1 << 16  # rows looked at to tell whether a table's lead ids come in runs
_MIN_RUN = 4  # rows per run, on average, for runs to be worth finding
_VALUES_PER_PARTITION = 2048  # leads per hash partition: its table and ids fit a core's cache
_MAX_BITS = 16  # partition numbers are uint16
_BATCH_KEYS = 1 << 21  # ids partitioned at a time: see _positions_of


def default_threads() -> int:
    """The CPUs this process may run on (its affinity, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def positions_in(values: pd.Series, universe: pd.Series) -> np.ndarray:
    """Position of each value in ``universe`` (-1 when absent), hashed by Arrow: on string ids
    this is ~8x faster than ``pd.Index.get_indexer``, which converts to Python objects. (For
    few values, such as event types, Arrow's hashing is ~4x faster than the partitioned
    lookup of :func:`lead_positions`.)"""
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
    error naming their tables. The tables are looked up together, so the leads are
    partitioned once."""
    runs = [_runs_of(_arrow_strings(values)) for values, _ in tables]
    keys = pa.chunked_array(
        [key for chunk_keys, _ in runs for key in chunk_keys], type=pa.large_string()
    )
    found = _positions_of(keys, _arrow_strings(lead_ids), default_threads())
    bounds = np.cumsum([sum(len(key) for key in chunk_keys) for chunk_keys, _ in runs])[:-1]
    positions = np.split(found, bounds)
    if found.min(initial=0) < 0:
        absent_rows = [
            LeadRuns(at < 0, ends).per_row() for at, (_, ends) in zip(positions, runs, strict=True)
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
    return [LeadRuns(at, ends) for at, (_, ends) in zip(positions, runs, strict=True)]


def load_compiled() -> None:
    """Compile the lookup's kernels now (or load them from numba's on-disk cache), through
    a lookup of one id: the argument types are a real lookup's."""
    ids = pa.array(["a"], type=pa.large_string())
    _positions_of(pa.chunked_array([ids]), ids, 1)


def _positions_of(keys: pa.ChunkedArray, values: pa.Array, threads: int) -> np.ndarray:
    """Position of each key in ``values`` (int32; -1: absent or missing), on ``threads``
    cores. 25M event lead ids in time order, 1M leads: ~0.9 s, where Arrow's ``index_in``
    took ~2 s on the same two cores (every lookup a cache miss in the 1M-lead hash set);
    1M ids in lead order: 0.28 -> 0.15 s. The ids are partitioned ``_BATCH_KEYS`` at a time,
    so the copy of their bytes stays small however many there are: 2**21 keys make arrays of
    4-25 MB, which malloc serves again from memory the previous batch freed. Batches of 2**23
    (~230 MB each) were mapped afresh and every page faulted in again, mostly kernel time
    here: preparing 25M time-ordered events took 2.6-3.8 s instead of 2.0-2.9 s (4
    alternated pairs)."""
    if isinstance(values, pa.ChunkedArray):  # the leads read in several chunks
        values = values.combine_chunks()
    bits = min(max((len(values) // _VALUES_PER_PARTITION).bit_length(), 1), _MAX_BITS)
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    out = np.empty(len(keys), dtype=np.int32)
    with ThreadPoolExecutor(threads, thread_name_prefix="features-hash") as pool:
        table = pool.submit(id_kernels.partition_values, *_string_buffers(values), valid, bits)
        for low in range(0, len(keys), _BATCH_KEYS):
            batch = keys.slice(low, _BATCH_KEYS)
            parts = [part for chunk in batch.chunks for part in _slices(chunk, threads)]
            _look_up(pool, threads, parts, table, bits, out[low : low + len(batch)])
    if keys.null_count:
        out[keys.is_null().to_numpy(zero_copy_only=False)] = -1
    return out


def _look_up(
    pool: ThreadPoolExecutor,
    threads: int,
    parts: list[pa.Array],
    table: Future,
    bits: int,
    out: np.ndarray,
) -> None:
    """The keys of ``parts`` (slices, one task each) looked up in ``table`` (a future of
    :func:`id_kernels.partition_values`), into ``out``: partitioned (counted, then copied),
    matched partition by partition, and put back in row order."""
    buffers = [_string_buffers(part) for part in parts]
    part_of_row = [np.empty(len(part), dtype=np.uint16) for part in parts]
    hash_of_row = [np.empty(len(part), dtype=np.uint32) for part in parts]

    def each_part(kernel: Callable[[int], object]) -> list:
        return list(pool.map(kernel, range(len(parts))))

    counts = each_part(
        lambda k: id_kernels.count_partitions(*buffers[k], bits, part_of_row[k], hash_of_row[k])
    )
    row_cursor, row_starts = slice_cursors([rows for rows, _ in counts])
    word_cursor, word_starts = slice_cursors([words for _, words in counts])
    key_meta = np.empty(len(out), dtype=np.uint64)
    key_words = np.empty(word_starts[-1], dtype=np.uint64)

    def scatter(k: int) -> None:
        # Both cursors advance as the keys are copied; the row cursors are copied first
        # because gather_found walks them again to put the results back in row order.
        id_kernels.scatter_keys(
            *buffers[k], part_of_row[k], hash_of_row[k], row_cursor[k].copy(), word_cursor[k],
            key_meta, key_words,
        )  # fmt: skip

    each_part(scatter)
    found = np.empty(len(out), dtype=np.int32)
    bounds = even_ranges(row_starts, threads)  # partitions with about as many keys each
    list(
        pool.map(
            lambda t: id_kernels.match_partitions(
                bounds[t], bounds[t + 1], *table.result(), row_starts, word_starts, key_meta,
                key_words, found,
            ),
            range(threads),
        )
    )  # fmt: skip
    firsts = np.cumsum([0, *map(len, parts)])
    each_part(
        lambda k: id_kernels.gather_found(
            part_of_row[k], row_cursor[k], found, out[firsts[k] : firsts[k + 1]]
        )
    )


def _slices(chunk: pa.Array, threads: int) -> list[pa.Array]:
    """``chunk`` in ``threads`` slices of about equal length (one task each)."""
    size = max(-(-len(chunk) // threads), 1)
    return [chunk.slice(at, size) for at in range(0, len(chunk), size)]


def _string_buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (int64) and bytes of a large_string array, without copies."""
    if not len(strings):
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    _, offsets, data = strings.buffers()
    offsets = np.frombuffer(offsets, np.int64, count=len(strings) + 1, offset=8 * strings.offset)
    return offsets, np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)


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
