"""Each lead's rows put in time order, once the rows are grouped by lead
(``features.batch.grouping``): the order the sweep of ``features.batch.kernels.sweep`` walks.

Why not one global sort by (lead, time): a lead has a few dozen rows, often already in time
order, so checking and sorting each lead's rows in place is linear in practice, where a
lexicographic sort of every row (25M events for 1M leads) was the slowest step of preparing
the inputs. The kernel releases the GIL, so ranges of leads run on every core.
"""

from __future__ import annotations

import numba
import numpy as np

_INSERTION_MAX = 32  # up to this many rows, a lead's rows are sorted by insertion


@numba.njit(cache=True, nogil=True)
def order_by_time(offsets: np.ndarray, ns: np.ndarray, order: np.ndarray, low: int, high: int):
    """Rows ``[offsets[r], offsets[r + 1])`` of each lead ``r`` in ``[low, high)`` sorted by
    ``ns`` in place, stably, with ``order`` (the rows' input positions) moved alongside."""
    for r in range(low, high):
        first, last = offsets[r], offsets[r + 1]
        in_order = True
        for i in range(first + 1, last):
            if ns[i] < ns[i - 1]:
                in_order = False
                break
        if in_order:
            continue
        if last - first <= _INSERTION_MAX:
            for i in range(first + 1, last):
                value, position = ns[i], order[i]
                j = i - 1
                while j >= first and ns[j] > value:
                    ns[j + 1], order[j + 1] = ns[j], order[j]
                    j -= 1
                ns[j + 1], order[j + 1] = value, position
        else:
            by_time = np.argsort(ns[first:last], kind="mergesort")
            ns[first:last] = ns[first:last][by_time]
            order[first:last] = order[first:last][by_time]
