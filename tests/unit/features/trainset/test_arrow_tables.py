"""Feature frames to Arrow: the same table as ``pa.Table.from_pandas`` (NaN as null, pandas
metadata), float columns without a copy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from features.trainset.arrow_tables import arrow_schema, arrow_table


def _feature_frame(rows: int, seed: int = 7) -> pd.DataFrame:
    """A frame laid out as the batch engine makes it: keys and attributes, then a
    (features x rows) float block, with missing values in some feature columns."""
    rng = np.random.default_rng(seed)
    block = rng.poisson(1.5, size=(4, rows)).astype(np.float64)
    block[0, rng.random(rows) < 0.3] = np.nan  # some missing
    block[1, :] = np.nan  # all missing
    # block[2] has none; block[3] is missing in the first row only
    block[3, 0] = np.nan
    head = pd.DataFrame(
        {
            "lead_id": pd.Series([f"L{i:05d}" for i in range(rows)], dtype="str"),
            "as_of": pd.date_range("2026-01-01", periods=rows, freq="h", tz="UTC"),
            "label": rng.integers(0, 2, rows).astype(np.int8),
            "industry": pd.Series(rng.choice(["saas", "retail", None], rows), dtype="str"),
            "annual_revenue": np.where(rng.random(rows) < 0.2, np.nan, rng.random(rows) * 1e6),
        }
    )
    features = pd.DataFrame(block.T, columns=["n_x", "days_since_x", "tenure", "decay"])
    return pd.concat([head, features], axis=1)


@pytest.mark.parametrize("rows", [1, 8, 9, 1000])  # bitmaps of whole and partial bytes
def test_the_table_equals_from_pandas(rows: int) -> None:
    frame = _feature_frame(rows)
    expected = pa.Table.from_pandas(frame, preserve_index=False)
    table = arrow_table(frame, arrow_schema(frame))
    assert table.equals(expected, check_metadata=True)
    for name in ("n_x", "days_since_x", "tenure", "decay", "annual_revenue"):
        assert table[name].null_count == int(frame[name].isna().sum())
    assert table.to_pandas().equals(frame)


def test_float_columns_are_shared_not_copied() -> None:
    frame = _feature_frame(100)
    table = arrow_table(frame, arrow_schema(frame))
    for name in ("n_x", "tenure"):
        values = frame[name].to_numpy()
        assert table[name].chunk(0).buffers()[1].address == values.ctypes.data


def test_strided_float_columns_are_converted_too() -> None:
    """A frame built from a (rows x features) array has strided columns: copied, still equal."""
    values = np.arange(60, dtype=np.float64).reshape(20, 3)
    values[::4, 1] = np.nan
    frame = pd.DataFrame(values, columns=["a", "b", "c"], copy=False)
    assert not frame["b"].to_numpy().flags.c_contiguous
    expected = pa.Table.from_pandas(frame, preserve_index=False)
    assert arrow_table(frame, arrow_schema(frame)).equals(expected, check_metadata=True)


def test_later_chunks_take_the_first_chunks_types() -> None:
    """A chunk whose float column happens to hold only integers-as-objects, or whose string
    column is all missing, is written with the schema of the first chunk."""
    first = _feature_frame(10)
    later = _feature_frame(5, seed=1)
    later["industry"] = pd.Series([None] * 5, dtype="str")
    later["annual_revenue"] = pd.Series([1, 2, None, 4, 5], dtype="object")
    schema = arrow_schema(first)
    table = arrow_table(later, schema)
    assert table.schema == schema
    assert table["industry"].null_count == 5
    assert table["annual_revenue"].to_pylist() == [1.0, 2.0, None, 4.0, 5.0]


def test_columns_out_of_the_schemas_order_are_refused() -> None:
    frame = _feature_frame(10)
    schema = arrow_schema(frame)
    with pytest.raises(ValueError, match="differ from the schema"):
        arrow_table(frame[["as_of", "lead_id", *frame.columns[2:]]], schema)
