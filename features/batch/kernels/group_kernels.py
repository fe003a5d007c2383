"""Compiled kernels that put rows in lead order: a counting sort by lead rank, then each
lead's rows by time (what the sweep of ``features.batch.kernels.sweep`` walks).

Why not a global sort: the events are most of the input (25M rows for 1M leads) and a sort
of packed (lead, time) keys was the slowest step; grouping by lead is linear and each lead
has few rows to order. Events exported lead by lead come in runs of one lead's rows, which
are moved as blocks; rows in any other order go through cache-sized buckets of leads. The
kernels release the GIL, so every core takes a share.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

_SMALL_MAX = 64  # up to this many rows, a lead's rows are placed by counting (below)
_BUCKET_ROWS = 1 << 15  # rows per bucket of leads, about: ~400 KB, placed in a core's cache
_MAX_BUCKET_BITS = 16  # leads per bucket at most 2**16: their ranks within it are uint16
_NEVER = np.iinfo(np.int64).max  # pads the counting buffer past a lead's rows


@numba.njit(cache=True, nogil=True)
def _lead_offsets(rank: np.ndarray, run_ends: np.ndarray, n_leads: int) -> np.ndarray:
    """Where each lead's rows start once grouped: a histogram of ``rank`` (per row, or per
    run when ``run_ends`` is not empty), summed up."""
    offsets = np.zeros(n_leads + 1, dtype=np.int64)
    for i in range(rank.size):
        offsets[rank[i] + 1] += _run_length(run_ends, i)
    for r in range(n_leads):
        offsets[r + 1] += offsets[r]
    return offsets


def even_ranges(starts: np.ndarray, parts: int) -> list[int]:
    """Bounds of ``parts`` ranges of items (leads, buckets, partitions) with about as many
    rows each, one range per core: item ``i``'s rows start at ``starts[i]`` (ascending; the
    last entry is the total)."""
    cuts = np.searchsorted(starts, np.arange(1, parts) * starts[-1] / parts)
    return [0, *np.minimum(cuts, starts.size - 1).tolist(), starts.size - 1]


def slice_cursors(counts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(cursors, starts)`` for partitioned streams written by several slices of rows:
    where slice ``k`` starts writing in partition ``p`` (``cursors[k, p]``, after the slices
    before it) and where each partition starts, from each slice's ``counts`` per partition."""
    by_partition = np.stack(counts).T  # partitions x slices
    ends = np.cumsum(by_partition).reshape(by_partition.shape)
    return (ends - by_partition).T.copy(), np.r_[0, ends[:, -1]]


def group_by_lead(rank: np.ndarray, ns: np.ndarray, n_leads: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, offsets)``: ``order`` sorts rows by (rank, ns) (stable), and lead ``r``'s rows
    are ``order[offsets[r]:offsets[r + 1]]``. A counting sort by lead, then each lead's few
    rows by time: linear where a global sort of 25M keys was the slowest step. (The row
    numbers are grouped as the extra column of :func:`group_by_lead_with`.)"""
    offsets, _, order = group_by_lead_with(rank, ns, np.arange(rank.size), n_leads)
    return order, offsets


def group_by_lead_with(
    rank: np.ndarray,
    ns: np.ndarray,
    code: np.ndarray,
    n_leads: int,
    threads: int = 1,
    run_ends: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(offsets, ns, code)`` in :func:`group_by_lead`'s order, moved straight into the
    result: no row-order array, half the memory traffic. For the events, the largest table.
    The work is split over ``threads`` cores; the result does not depend on it.

    With ``run_ends`` (exclusive ends of runs of consecutive rows of one lead), ``rank`` has
    one entry per run and whole runs are copied, each thread copying its own range of leads:
    events exported lead by lead are grouped in ~1M block copies for 1M leads instead of 25M
    single-row moves. Without, rows are grouped through cache-sized buckets of leads
    (:func:`_group_rows`)."""
    runs = np.zeros(0, dtype=np.int64) if run_ends is None else run_ends
    offsets = _lead_offsets(rank, runs, n_leads)
    ns_out = np.empty(ns.size, dtype=np.int64)
    code_out = np.empty(ns.size, dtype=code.dtype)
    threads = max(threads, 1)
    with ThreadPoolExecutor(threads, thread_name_prefix="features-group") as pool:
        if run_ends is None:
            _group_rows(pool, threads, rank, ns, code, offsets, ns_out, code_out)
        else:
            bounds = even_ranges(offsets, threads)
            list(
                pool.map(
                    lambda t: _scatter_runs(
                        rank, runs, ns, code, offsets, bounds[t], bounds[t + 1], ns_out,
                        code_out,
                    ),
                    range(threads),
                )
            )  # fmt: skip
    return offsets, ns_out, code_out


def _group_rows(
    pool: ThreadPoolExecutor,
    threads: int,
    rank: np.ndarray,
    ns: np.ndarray,
    code: np.ndarray,
    offsets: np.ndarray,
    ns_out: np.ndarray,
    code_out: np.ndarray,
) -> None:
    """Rows one at a time (events in time order, say) into lead order, in two passes that
    stay in cache: first each row into its bucket of consecutive leads (a few hundred
    buckets: their write positions stay in cache), written where the bucket's rows end up,
    then each bucket's rows (~``_BUCKET_ROWS``) placed within it. Why not each row straight to
    its place: with 1M leads every such write missed the cache, 25M events took ~3x as long.
    Each thread buckets a slice of rows after the slices before it, so rows stay in input
    order within a lead."""
    n_leads = offsets.size - 1
    per_lead = max(ns.size / max(n_leads, 1), 1.0)
    bits = int(np.clip(np.log2(max(_BUCKET_ROWS / per_lead, 1.0)), 0, _MAX_BUCKET_BITS))
    buckets = (n_leads >> bits) + 1
    slices = np.linspace(0, rank.size, threads + 1).astype(np.int64)
    counts = list(
        pool.map(
            lambda t: _bucket_counts(rank, slices[t], slices[t + 1], bits, buckets), range(threads)
        )
    )
    cursors, bucket_start = slice_cursors(counts)
    local_rank = np.empty(ns.size, dtype=np.uint16)
    list(
        pool.map(
            lambda t: _bucket_rows(
                rank, ns, code, slices[t], slices[t + 1], bits, cursors[t], ns_out, code_out,
                local_rank,
            ),
            range(threads),
        )
    )  # fmt: skip
    bounds = even_ranges(bucket_start, threads)
    list(
        pool.map(
            lambda t: _place_buckets(
                bounds[t], bounds[t + 1], bits, offsets, ns_out, code_out, local_rank
            ),
            range(threads),
        )
    )


@numba.njit(cache=True, nogil=True, inline="always")
def _run_length(run_ends: np.ndarray, i: int) -> int:
    if run_ends.size == 0:  # every row is its own run
        return 1
    return run_ends[i] - (run_ends[i - 1] if i > 0 else 0)


@numba.njit(cache=True, nogil=True)
def _scatter_runs(
    rank: np.ndarray,
    run_ends: np.ndarray,
    ns: np.ndarray,
    code: np.ndarray,
    offsets: np.ndarray,
    low: int,
    high: int,
    ns_out: np.ndarray,
    code_out: np.ndarray,
) -> None:
    """The runs of ``run_ends`` (``rank``: one per run) of leads ranked [low, high) copied to
    their place in ``ns_out`` and ``code_out`` (input order), then each lead's rows in time
    order."""
    fill = offsets[:-1].copy()
    start = 0
    for i in range(rank.size):
        r = rank[i]
        length = _run_length(run_ends, i)
        if low <= r < high:
            at = fill[r]
            for k in range(length):
                ns_out[at + k] = ns[start + k]
                code_out[at + k] = code[start + k]
            fill[r] = at + length
        start += length
    _order_by_time(ns_out, code_out, offsets, low, high)


@numba.njit(cache=True, nogil=True)
def _bucket_counts(rank: np.ndarray, first: int, last: int, bits: int, buckets: int) -> np.ndarray:
    """How many of rows ``[first, last)`` fall in each bucket of ``2**bits`` leads."""
    counts = np.zeros(buckets, dtype=np.int64)
    for i in range(first, last):
        counts[rank[i] >> bits] += 1
    return counts


@numba.njit(cache=True, nogil=True)
def _bucket_rows(
    rank: np.ndarray,
    ns: np.ndarray,
    code: np.ndarray,
    first: int,
    last: int,
    bits: int,
    cursor: np.ndarray,
    ns_out: np.ndarray,
    code_out: np.ndarray,
    local_rank: np.ndarray,
) -> None:
    """Rows ``[first, last)`` appended to their bucket at ``cursor`` (which advances), with
    their lead's rank within the bucket."""
    mask = (1 << bits) - 1
    for i in range(first, last):
        r = rank[i]
        at = cursor[r >> bits]
        cursor[r >> bits] = at + 1
        ns_out[at] = ns[i]
        code_out[at] = code[i]
        local_rank[at] = r & mask


@numba.njit(cache=True, nogil=True)
def _place_buckets(
    first: int,
    last: int,
    bits: int,
    offsets: np.ndarray,
    ns_out: np.ndarray,
    code_out: np.ndarray,
    local_rank: np.ndarray,
) -> None:
    """Each bucket ``[first, last)``'s rows put in lead order within it (stable), then each
    lead's rows in time order, while the bucket is in cache."""
    n_leads = offsets.size - 1
    fill = np.empty(1 << bits, dtype=np.int64)
    largest = 0
    for b in range(first, last):
        low, high = min(b << bits, n_leads), min((b + 1) << bits, n_leads)
        largest = max(largest, offsets[high] - offsets[low])
    buffer_ns = np.empty(largest, dtype=np.int64)
    buffer_code = np.empty(largest, dtype=code_out.dtype)
    for b in range(first, last):
        low, high = min(b << bits, n_leads), min((b + 1) << bits, n_leads)
        base = offsets[low]
        for r in range(low, high):
            fill[r - low] = offsets[r]
        rows = offsets[high] - base
        buffer_ns[:rows] = ns_out[base : base + rows]
        buffer_code[:rows] = code_out[base : base + rows]
        for k in range(rows):
            r = local_rank[base + k]
            at = fill[r]
            fill[r] = at + 1
            ns_out[at] = buffer_ns[k]
            code_out[at] = buffer_code[k]
        _order_by_time(ns_out, code_out, offsets, low, high)


@numba.njit(cache=True, nogil=True)
def _order_by_time(
    ns: np.ndarray, code: np.ndarray, offsets: np.ndarray, low: int, high: int
) -> None:
    """Each lead ranked [low, high)'s rows in time order (stable)."""
    # A buffer per call (not per lead) for the placement of small leads' rows.
    buffer_ns = np.empty(_SMALL_MAX, dtype=np.int64)
    buffer_code = np.empty(_SMALL_MAX, dtype=code.dtype)
    for r in range(low, high):
        first, last = offsets[r], offsets[r + 1]
        if _in_time_order(ns, first, last):
            continue
        if last - first <= _SMALL_MAX:
            _place_by_count(ns, code, first, last, buffer_ns, buffer_code)
        else:
            by_time = np.argsort(ns[first:last], kind="mergesort")
            ns[first:last] = ns[first:last][by_time]
            code[first:last] = code[first:last][by_time]


@numba.njit(cache=True, nogil=True)
def _in_time_order(ns: np.ndarray, first: int, last: int) -> bool:
    """Whether rows ``[first, last)`` are already in time order (as exports often are)."""
    for i in range(first + 1, last):  # noqa: SIM110 (a loop numba compiles, not a generator)
        if ns[i] < ns[i - 1]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _place_by_count(
    ns: np.ndarray,
    code: np.ndarray,
    first: int,
    last: int,
    buffer_ns: np.ndarray,
    buffer_code: np.ndarray,
) -> None:
    """Rows ``[first, last)`` in time order (stable), each put straight at its place: the
    number of rows before it in that order. Why not insertion sort: on ~25 rows in random
    order its branches mispredict, while these counts compile to branch-free vector compares
    (grouping 25M events of 1M leads: 0.44 s instead of 0.70 s on one core)."""
    n = last - first
    width = (n + 7) // 8 * 8  # whole vectors; the padding never comes before a row
    for k in range(n):
        buffer_ns[k] = ns[first + k]
        buffer_code[k] = code[first + k]
    buffer_ns[n:width] = _NEVER
    for i in range(n):
        place = _rows_before(buffer_ns, i, width)
        ns[first + place] = buffer_ns[i]
        code[first + place] = buffer_code[i]


@numba.njit(cache=True, nogil=True, inline="never")
def _rows_before(values: np.ndarray, i: int, width: int) -> int:
    """How many of ``values[:width]`` come before ``values[i]`` in a stable sort. (Out of
    line: inlined into the loop above, it was not vectorised.)"""
    x = values[i]
    before = 0
    for j in range(width):
        before += np.int64(values[j] < x) + np.int64((values[j] == x) & (j < i))
    return before
