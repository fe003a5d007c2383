"""The account roll-up of the batch kernel (``features.batch.kernels.sweep``): how many of an account's
leads were engaged at each of the account's snapshot times, counted once per account and
time and shared by all its leads (each lead then subtracts itself).

Why per account: searching every colleague's events for every snapshot of every lead grows
with the square of the account size; one merge of each lead's events with the account's
distinct times does not (``benchmarks/feature_engines.py`` times accounts of 1,000 against ~3).
"""

from __future__ import annotations

import numba
import numpy as np

from features.time_rule import NAT_NS

_MERGE_MAX = 8  # accounts of up to this many leads merge their as_of times; larger ones sort


@numba.njit(cache=True, nogil=True)
def distinct_times(query_ns: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The distinct times of a few leads' queries (each lead's in ascending order), in
    order: merged, where a sort of them all cost more; sorted when there are many leads."""
    n_leads = offsets.size - 1
    if n_leads > _MERGE_MAX:
        return np.unique(query_ns[offsets[0] : offsets[-1]])
    merged = np.empty(offsets[-1] - offsets[0], dtype=np.int64)
    heads = offsets[:-1].copy()
    size = 0
    while True:
        best = -1
        for j in range(n_leads):
            if heads[j] < offsets[j + 1] and (
                best < 0 or query_ns[heads[j]] < query_ns[heads[best]]
            ):
                best = j
        if best < 0:
            return merged[:size]
        now = query_ns[heads[best]]
        heads[best] += 1
        if size == 0 or merged[size - 1] != now:
            merged[size] = now
            size += 1


@numba.njit(cache=True, nogil=True)
def engaged_leads(
    low: int,
    high: int,
    times: np.ndarray,
    event_offsets: np.ndarray,
    event_ns: np.ndarray,
    event_code: np.ndarray,
    active: np.ndarray,
    window: int,
) -> np.ndarray:
    """Per time of ``times`` (sorted), how many leads ranked [low, high) were engaged: had
    an engagement event in (time - window, time]. One merge of each lead's events with the
    times, so an account costs O(leads x (times + events)) instead of searching every
    colleague's events for every snapshot of every lead."""
    engaged = np.zeros(times.size, dtype=np.int64)
    for lead in range(low, high):
        k, end = event_offsets[lead], event_offsets[lead + 1]
        last = NAT_NS
        for i in range(times.size):
            now = times[i]
            while k < end and event_ns[k] <= now:
                if active[event_code[k]]:
                    last = event_ns[k]
                k += 1
            if last != NAT_NS and now - last < window:
                engaged[i] += 1
            elif k == end:
                break  # no events left and not engaged: not engaged at any later time
    return engaged
