"""The batch kernel's stores into the feature block (``features.batch.kernels.line_stores``): a tile of 8
snapshots lands in the right columns of every row, whether it goes as whole lines
(non-temporal stores) or value by value, and the engine's blocks are laid out for the former."""

from __future__ import annotations

import numpy as np
import pytest

from features.batch.kernels.line_stores import LINE, put_tile, row_lines, whole_line
from features.batch.memory_pool import empty_from_arrow_pool

ROWS = 5


def _tile(rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal((ROWS, LINE))


def _put(block: np.ndarray, destination: np.ndarray, first: int, count: int, tile: np.ndarray):
    values, stride = row_lines(block)
    put_tile(values, stride, destination, first, count, tile.reshape(-1))
    return whole_line(values, stride, destination, first, count)


@pytest.mark.parametrize("columns", [8, 13, 24, 1001])
def test_a_whole_line_is_streamed_into_its_columns_and_nowhere_else(columns: int) -> None:
    rng = np.random.default_rng(columns)
    block = empty_from_arrow_pool(ROWS, columns)
    block[:] = -1.0
    tile = _tile(rng)
    destination = np.arange(columns, dtype=np.int64)
    streamed = _put(block, destination, 0, LINE, tile)
    assert streamed  # the engine's blocks take whole lines
    np.testing.assert_array_equal(block[:, :LINE], tile)
    assert (block[:, LINE:] == -1.0).all()


def test_lines_further_in_and_a_partial_last_line_land_where_their_destinations_say() -> None:
    rng = np.random.default_rng(1)
    columns = 21  # two whole lines, then 5 columns
    block = empty_from_arrow_pool(ROWS, columns)
    block[:] = np.nan
    destination = np.arange(columns, dtype=np.int64)
    expected = np.empty((ROWS, columns))
    for first in range(0, columns, LINE):
        count = min(LINE, columns - first)
        tile = _tile(rng)
        assert _put(block, destination, first, count, tile) == (count == LINE)
        expected[:, first : first + count] = tile[:, :count]
    np.testing.assert_array_equal(block, expected)


def test_scattered_or_misaligned_columns_go_value_by_value() -> None:
    rng = np.random.default_rng(2)
    columns = 32
    block = empty_from_arrow_pool(ROWS, columns)
    # A permutation (compute_features' snapshots in the caller's order): not a line.
    block[:] = 0.0
    destination = rng.permutation(columns).astype(np.int64)
    tile = _tile(rng)
    assert not _put(block, destination, 8, LINE, tile)
    np.testing.assert_array_equal(block[:, destination[8:16]], tile)
    assert np.count_nonzero(block) == ROWS * LINE
    # Consecutive but starting mid-line, and a view whose rows start mid-line.
    block[:] = 0.0
    shifted = np.arange(3, 3 + LINE, dtype=np.int64)
    assert not _put(block, shifted, 0, LINE, tile)
    np.testing.assert_array_equal(block[:, 3 : 3 + LINE], tile)
    view = block[:, 1:]
    view[:] = 0.0
    assert not _put(view, np.arange(LINE, dtype=np.int64), 0, LINE, tile)
    np.testing.assert_array_equal(view[:, :LINE], tile)
    # A plain numpy block of an odd width: rows a whole number of values, not lines, apart.
    odd = np.zeros((ROWS, 13))
    assert not _put(odd, np.arange(13, dtype=np.int64), 0, LINE, tile)
    np.testing.assert_array_equal(odd[:, :LINE], tile)


@pytest.mark.parametrize("columns", [1, 7, 8, 9, 1000])
def test_feature_blocks_rows_start_on_cache_lines(columns: int) -> None:
    block = empty_from_arrow_pool(74, columns)
    assert block.shape == (74, columns) and block.flags.writeable
    values, stride = row_lines(block)
    assert stride % LINE == 0 and stride >= columns
    assert all(block[r:].ctypes.data % 64 == 0 for r in range(74))
    block[:] = np.arange(74 * columns, dtype=np.float64).reshape(74, columns)
    rows, cols = np.divmod(np.arange(74 * columns), columns)
    np.testing.assert_array_equal(values[rows * stride + cols], block[rows, cols])


def test_row_lines_refuses_blocks_whose_rows_are_not_contiguous() -> None:
    with pytest.raises(ValueError, match="contiguous rows"):
        row_lines(np.zeros((4, 16))[:, ::2])
    with pytest.raises(ValueError, match="float64"):
        row_lines(np.zeros((4, 16), dtype=np.float32))
