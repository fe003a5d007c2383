"""The compiled laying of snapshots: each lead's (lead, as_of) grid, the already-won exclusion
and the labels, in one pass over the leads and their won deals (``features.trainset.snapshots`` holds
the rules and wraps this).

Why compiled: the batch engine lays the snapshots of every chunk of leads in its worker
threads. A numpy formulation makes ~20 array calls per chunk, holding the GIL between them
while the other workers wait for it; this kernel is one call that releases the GIL.
"""

from __future__ import annotations

import numba
import numpy as np

from features.time_rule import SECOND_NS

NO_LIMIT = np.iinfo(np.int64).max  # ``max_age_ns`` when leads never age out of the grid


@numba.njit(cache=True, nogil=True, inline="always")
def _whole_second_after(ns: int) -> int:
    """The first whole second at or after ``ns`` (floor division, as numpy's, for pre-1970)."""
    return -((-ns) // SECOND_NS) * SECOND_NS


@numba.njit(cache=True, nogil=True)
def lay_grid(
    created_ns: np.ndarray,
    first: int,
    won_offsets: np.ndarray,
    won_ns: np.ndarray,
    until_ns: int,
    periodic: bool,
    step_ns: int,
    max_age_ns: int,
    horizon_ns: int,
    repeat_purchase: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """``(lead, as_of_ns, observed, label, excluded)`` for leads ``first, first + 1, ...``
    (creation times ``created_ns``), grouped by lead and in time order.

    Lead ``first + i``'s won deals close at ``won_ns[won_offsets[first + i]:...[first + i +
    1]]``, in time order. The grid is either one snapshot at creation or every ``step_ns``
    from the epoch, from creation to ``until_ns`` (or ``max_age_ns`` after creation). A
    snapshot after a won deal closed (at or before as_of) is dropped and counted in
    ``excluded`` unless ``repeat_purchase``; it is ``observed`` when ``as_of + horizon_ns <=
    until_ns``, and then labelled 1 iff a won deal closed in ``(as_of, as_of + horizon_ns]``
    (``label`` holds the observed snapshots' labels only)."""
    n = created_ns.size
    first_k = np.zeros(n, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    for i in range(n):
        created_s = _whole_second_after(created_ns[i])
        if not periodic:
            size[i] = 1 if created_s <= until_ns else 0
            continue
        last = until_ns if max_age_ns == NO_LIMIT else min(until_ns, created_ns[i] + max_age_ns)
        first_k[i] = -((-created_s) // step_ns)
        size[i] = max(last // step_ns - first_k[i] + 1, 0)
    total = size.sum()
    lead = np.empty(total, dtype=np.int64)
    as_of_ns = np.empty(total, dtype=np.int64)
    observed = np.empty(total, dtype=np.bool_)
    label = np.empty(total, dtype=np.int8)
    kept = labelled = excluded = 0
    for i in range(n):
        wins = won_ns[won_offsets[first + i] : won_offsets[first + i + 1]]
        closed = 0  # won deals closed at or before as_of (as_of only grows: a walk)
        within = 0  # won deals closed at or before as_of + horizon
        for j in range(size[i]):
            as_of = (first_k[i] + j) * step_ns if periodic else _whole_second_after(created_ns[i])
            while closed < wins.size and wins[closed] <= as_of:
                closed += 1
            if closed > 0 and not repeat_purchase:
                excluded += 1
                continue
            lead[kept], as_of_ns[kept] = first + i, as_of
            observed[kept] = as_of + horizon_ns <= until_ns
            if observed[kept]:
                while within < wins.size and wins[within] <= as_of + horizon_ns:
                    within += 1
                label[labelled] = 1 if within > closed else 0
                labelled += 1
            kept += 1
    return lead[:kept], as_of_ns[:kept], observed[:kept], label[:labelled], excluded
