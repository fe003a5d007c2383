"""Lead ids looked up in the leads table with Arrow's hashing (``pyarrow.compute.index_in``).

A table exported lead by lead holds each lead's rows in a run: its ids are run-length encoded
first and looked up once per run. Unknown leads are an error naming their table.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.ingest import contracts as c
from features.ingest.contracts import DataValidationError, Problem, examples_of

_RUN_SAMPLE = 1 << 16  # rows looked at to tell whether a table's lead ids come in runs
_MIN_RUN = 4  # rows per run, on average, for runs to be worth finding


def positions_in(values: pd.Series, universe: pd.Series) -> np.ndarray:
    """Position of each value in ``universe`` (int32, -1 when absent or missing). Arrow's
    hashing, not ``pd.Index.get_indexer``, which converts Arrow-backed strings to Python
    objects first."""
    return _index_in(_arrow_strings(values), _arrow_strings(universe))


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
    equal ids where a table holds them; unknown or missing leads are an error naming their
    tables."""
    universe = _arrow_strings(lead_ids)
    found = []
    for values, _ in tables:
        keys, ends = _runs_of(_arrow_strings(values))
        found.append(LeadRuns(_index_in(keys, universe), ends))
    problems = []
    for runs, (values, table) in zip(found, tables, strict=True):
        if runs.position.min(initial=0) < 0:
            absent = runs.per_row() < 0
            problems.append(
                Problem(
                    table, c.LEAD_ID, "lead not in the leads table", int(absent.sum()),
                    examples_of(values[absent]),
                )
            )  # fmt: skip
    if problems:
        raise DataValidationError(problems)
    return found


def _index_in(keys: pa.Array | pa.ChunkedArray, universe: pa.Array) -> np.ndarray:
    found = pc.index_in(keys, value_set=universe).fill_null(-1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int32)


def _arrow_strings(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The values as Arrow strings, without a copy where pandas holds them in Arrow."""
    array = pa.array(values, from_pandas=True)
    return array if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) else (
        array.cast(pa.large_string())
    )  # fmt: skip


def _runs_of(
    values: pa.Array | pa.ChunkedArray,
) -> tuple[pa.ChunkedArray | pa.Array, np.ndarray | None]:
    """``(keys, ends)``: the value of each run of equal values and the runs' exclusive ends,
    when the first rows come in runs of ``_MIN_RUN`` rows on average; else the values
    themselves and ``None``. (A run cut by a chunk boundary is two runs of the same lead.)"""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    sample = values.slice(0, _RUN_SAMPLE)
    sample_chunks = sample.chunks if isinstance(sample, pa.ChunkedArray) else [sample]
    sample_runs = sum(len(pc.run_end_encode(chunk).values) for chunk in sample_chunks)
    if len(values) < _RUN_SAMPLE or sample_runs * _MIN_RUN > _RUN_SAMPLE:
        return values, None
    keys, ends, start = [], [], 0
    for chunk in chunks:
        encoded = pc.run_end_encode(chunk, run_end_type=pa.int64())
        keys.append(encoded.values)
        ends.append(encoded.run_ends.to_numpy() + start)
        start += len(chunk)
    return pa.chunked_array(keys, type=values.type), np.concatenate(ends)
