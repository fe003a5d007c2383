"""Compiled kernels that put rows in lead order: a counting sort by lead rank, then each
lead's rows by time (what the sweep of ``features.kernel`` walks).

Why not a global sort: the events are most of the input (25M rows for 1M leads) and a sort
of packed (lead, time) keys was the slowest step; grouping by lead is linear and each lead
has few rows to order. The kernels release the GIL, so lead ranges scatter on every core.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

_INSERTION_MAX = 32  # below this a lead's rows are put in time order by insertion sort


@numba.njit(cache=True, nogil=True)
def _lead_offsets(rank: np.ndarray, n_leads: int) -> np.ndarray:
    """Where each lead's rows start once grouped: a histogram of ``rank``, summed up."""
    offsets = np.zeros(n_leads + 1, dtype=np.int64)
    for i in range(rank.size):
        offsets[rank[i] + 1] += 1
    for r in range(n_leads):
        offsets[r + 1] += offsets[r]
    return offsets


def group_by_lead(rank: np.ndarray, ns: np.ndarray, n_leads: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, offsets)``: ``order`` sorts rows by (rank, ns) (stable), and lead ``r``'s rows
    are ``order[offsets[r]:offsets[r + 1]]``. A counting sort by lead, then each lead's few
    rows by time: linear where a global sort of 25M keys was the slowest step. (The row
    numbers are grouped as the extra column of :func:`group_by_lead_with`.)"""
    offsets, _, order = group_by_lead_with(rank, ns, np.arange(rank.size), n_leads)
    return order, offsets


def group_by_lead_with(
    rank: np.ndarray, ns: np.ndarray, code: np.ndarray, n_leads: int, threads: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(offsets, ns, code)`` in :func:`group_by_lead`'s order, scattered straight into the
    result: no row-order array, half the memory traffic. For the events, the largest table.
    ``threads`` ranges of leads are grouped at once; each reads every row's rank but writes
    only its own leads' rows, so the result does not depend on it."""
    offsets = _lead_offsets(rank, n_leads)
    ns_out = np.empty(rank.size, dtype=np.int64)
    code_out = np.empty(rank.size, dtype=code.dtype)
    # Lead ranges with about the same number of rows each.
    cuts = np.searchsorted(offsets, np.linspace(0, rank.size, max(threads, 1) + 1)[1:-1])
    bounds = np.r_[0, cuts, n_leads]

    def scatter(part: int) -> None:
        _scatter_leads(rank, ns, code, offsets, bounds[part], bounds[part + 1], ns_out, code_out)

    if threads <= 1:
        scatter(0)
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="features-group") as pool:
            list(pool.map(scatter, range(bounds.size - 1)))
    return offsets, ns_out, code_out


@numba.njit(cache=True, nogil=True)
def _scatter_leads(
    rank: np.ndarray,
    ns: np.ndarray,
    code: np.ndarray,
    offsets: np.ndarray,
    low: int,
    high: int,
    ns_out: np.ndarray,
    code_out: np.ndarray,
) -> None:
    """The rows of leads ranked [low, high) into their place in ``ns_out`` and ``code_out``
    (input order), then each lead's rows in time order (stable)."""
    fill = offsets[:-1].copy()
    for i in range(rank.size):
        r = rank[i]
        if low <= r < high:
            ns_out[fill[r]] = ns[i]
            code_out[fill[r]] = code[i]
            fill[r] += 1
    for r in range(low, high):
        first, last = offsets[r], offsets[r + 1]
        if last - first <= _INSERTION_MAX:
            for i in range(first + 1, last):
                key, value = ns_out[i], code_out[i]
                j = i - 1
                while j >= first and ns_out[j] > key:
                    ns_out[j + 1] = ns_out[j]
                    code_out[j + 1] = code_out[j]
                    j -= 1
                ns_out[j + 1] = key
                code_out[j + 1] = value
        else:
            by_time = np.argsort(ns_out[first:last], kind="mergesort")
            ns_out[first:last] = ns_out[first:last][by_time]
            code_out[first:last] = code_out[first:last][by_time]
