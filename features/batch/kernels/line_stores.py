"""How the batch kernel puts its values into the feature block: a cache line at a time, with
non-temporal (streaming) stores.

Why: the kernel writes one value into each of ~74 feature rows for every snapshot, and the
(features x snapshots) block of a chunk (~19 MB, several in flight) is not in the cache. A
plain store to a line that is not in cache first reads the line from memory (read for
ownership), and with every row's line missing in turn those reads stalled the kernel: on
captured chunks of 1M leads (one core, eight blocks written in turn) it took ~396 ns a
snapshot; on 200k leads writing one block again and again (so it stayed in the cache), ~165
ns. The kernel now collects 8 snapshots (a 64-byte line of every row) in a small tile and
writes each full row line with one non-temporal store, which neither reads the line first
nor pushes other data out of the cache: ~175 ns a snapshot, the same values bit for bit. A
line goes by plain stores when it is not whole (the chunk's last), when its snapshots'
columns are not 8 consecutive columns starting on a line (``compute_features``' snapshots in
the caller's order), or when the block's rows do not start on lines. Those plain stores go
row by row, 8 columns at a time, which took less time than a snapshot's column at a time:
``compute_features`` on 200k leads (3.2M snapshots; best of 3, 3 alternated processes each)
took 2.54-2.58 instead of 2.74-2.84 s with the snapshots in random order, 1.07-1.11 instead
of 1.18-1.20 s in lead order.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from features.batch.memory_pool import LINE  # float64 values in a 64-byte cache line

_LINE_BYTES = 8 * LINE


@intrinsic
def _stream_line(typingctx, block, at, tile, tile_at):
    """Copy ``tile[tile_at:tile_at + 8]`` to ``block[at:at + 8]`` (1-D float64 arrays) with
    one non-temporal store; ``block[at]`` must lie on a 64-byte line and both ranges in their
    arrays (:func:`put_tile` checks). LLVM lowers the hint for the machine (``vmovntpd`` on
    x86-64); where it has none, this is a plain store. Only x86-64 is measured and tested."""
    float_array = types.Array(types.float64, 1, "C")
    if block != float_array or tile != float_array:
        return None
    signature = types.void(block, types.intp, tile, types.intp)

    def codegen(context, builder, sig, args):
        def line_at(array: int, index: int):  # args[array][args[index]], as 8 doubles
            item = cgutils.get_item_pointer(
                context, builder, sig.args[array],
                context.make_array(sig.args[array])(context, builder, args[array]),
                [args[index]], wraparound=False,
            )  # fmt: skip
            return builder.bitcast(item, ir.VectorType(ir.DoubleType(), LINE).as_pointer())

        value = builder.load(line_at(2, 3), align=8)
        store = builder.store(value, line_at(0, 1), align=64)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.IntType(32)(1)]))
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def store_fence(typingctx):
    """A full memory fence (LLVM's ``fence seq_cst``, ``mfence`` on x86-64): the
    non-temporal stores before it are seen by every thread before any store after it (they
    are weakly ordered; the block goes to another thread)."""

    def codegen(context, builder, sig, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


def row_lines(block: np.ndarray) -> tuple[np.ndarray, int]:
    """``(values, stride)``: a 2-D float64 ``block`` whose rows are each contiguous (a padded
    block's view, :func:`features.batch.memory_pool.empty_from_arrow_pool`) as one 1-D view of its
    memory, where ``block[r, j]`` is ``values[r * stride + j]``."""
    rows, columns = block.shape
    if block.dtype != np.float64 or (columns > 1 and block.strides[1] != 8):
        raise ValueError("the feature block must be float64 with contiguous rows")
    stride = block.strides[0] // 8 if rows > 1 else columns
    if rows > 1 and block.strides[0] != 8 * stride:
        raise ValueError("the feature block's rows must be a whole number of values apart")
    size = (rows - 1) * stride + columns if rows and columns else 0
    return np.lib.stride_tricks.as_strided(block, shape=(size,), strides=(8,)), stride


@numba.njit(cache=True, nogil=True)
def whole_line(
    block: np.ndarray, stride: int, destination: np.ndarray, first: int, count: int
) -> bool:
    """Whether the ``count`` columns ``destination[first:first + count]`` are one whole line
    of every row of the block (``block``/``stride`` as from :func:`row_lines`): 8
    consecutive columns from a multiple of 8, in rows that each start on a line."""
    if count != LINE or stride % LINE != 0 or block.ctypes.data % _LINE_BYTES != 0:
        return False
    start = destination[first]
    if start % LINE != 0:
        return False
    for s in range(1, LINE):  # noqa: SIM110 (a loop: numba compiles no generator in all())
        if destination[first + s] != start + s:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def put_tile(
    block: np.ndarray,
    stride: int,
    destination: np.ndarray,
    first: int,
    count: int,
    tile: np.ndarray,
) -> None:
    """Tile column ``s`` (of ``count``; ``tile`` is rows x ``LINE``, flat) to the block's
    column ``destination[first + s]`` in every row: one non-temporal store per row when the
    columns are a :func:`whole_line`, plain stores otherwise."""
    rows = tile.size // LINE
    if whole_line(block, stride, destination, first, count):
        start = destination[first]
        for r in range(rows):
            _stream_line(block, r * stride + start, tile, r * LINE)
        return
    for r in range(rows):
        for s in range(count):
            block[r * stride + destination[first + s]] = tile[r * LINE + s]
