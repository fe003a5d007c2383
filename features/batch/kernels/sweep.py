"""The batch engine's compiled sweep: one pass per lead over its events and snapshots (rows
grouped by lead and put in time order first, by ``features.batch.grouping``).

Why compiled: every feature is "this lead's events in a time window ending at as_of". Sorted
by time, a lead's snapshots can be visited in order while one pointer per window walks its
events: each event enters and leaves each window once, so the whole spec costs
O(events x windows + snapshots x features), with no (snapshots x events) pairs and no
temporaries, where a numpy formulation (searchsorted over packed keys, gathered
running-count tables) makes ~40 passes over memory. Kernels release the GIL, so chunks run on
every core from a thread pool. They are compiled on first use and cached on disk (numba
``cache=True``).

The time rule is ``features.spec``'s: as_of is a whole second, an event counts when
``occurred_at <= as_of`` and a window of ``w`` days holds ``as_of - w days < occurred_at``.
Comparing nanoseconds directly is exact because as_of is whole.
"""

from __future__ import annotations

import numba
import numpy as np

from features.batch.kernels import snapshot_grid as snapshot_kernel
from features.batch.kernels.account_rollup import distinct_times, engaged_leads
from features.batch.kernels.time_order import order_by_time
from features.time_rule import DAY_NS, NAT_NS

# Positions in the ``scalar_columns`` array (column of each lead-level feature, -1 if absent).
TENURE, LOST, WINS, RECYCLED, OPEN, OPEN_DAYS = 0, 1, 2, 3, 4, 5
TREND, CLICK_RATE, DECAY_ENGAGEMENT, ACTIVE_DAYS, COLLEAGUES = 6, 7, 8, 9, 10
N_SCALARS = 11
# Positions in the ``settings`` array.
RECENT_W, BOTH_W, CLICK_W, INTENT_W, OPEN_CODE, CLICK_CODE = 0, 1, 2, 3, 4, 5
RECENT_DAYS, PREVIOUS_DAYS, ACTIVE_WINDOW_NS, ACCOUNT_WINDOW_NS = 6, 7, 8, 9
N_SETTINGS = 10


@numba.njit(cache=True, nogil=True, inline="always")
def _put(out: np.ndarray, row: int, column: int, value: float) -> None:
    if row >= 0:
        out[row, column] = value


# numpy's error model: no test for a zero divisor before every division (FeatureParams keeps
# them positive).
@numba.njit(cache=True, nogil=True, error_model="numpy")
def sweep_leads(
    lead_low: int,
    lead_high: int,
    event_offsets: np.ndarray,
    event_ns: np.ndarray,
    event_code: np.ndarray,
    outcome_offsets: np.ndarray,
    outcome_ns: np.ndarray,
    outcome_won: np.ndarray,
    deal_offsets: np.ndarray,
    deal_opened_ns: np.ndarray,
    deal_closed_ns: np.ndarray,
    query_offsets: np.ndarray,
    query_ns: np.ndarray,
    created_ns: np.ndarray,
    account_start: np.ndarray,
    account_end: np.ndarray,
    window_ns: np.ndarray,
    count_columns: np.ndarray,
    recency_columns: np.ndarray,
    decay_columns: np.ndarray,
    intent_columns: np.ndarray,
    active: np.ndarray,
    scalar_columns: np.ndarray,
    settings: np.ndarray,
    half_life_days: float,
    out: np.ndarray,
    destination: np.ndarray,
) -> None:
    """Features of every snapshot of leads ranked [lead_low, lead_high).

    Rows are grouped by lead rank (``*_offsets``, from ``features.batch.grouping``) and in
    time order within a lead. ``count_columns[w, code]`` (and the other ``*_columns``) is the
    row of ``out`` (features x columns, C order) of that feature, -1 when the spec does not
    have it. ``query_offsets`` covers just these leads (``lead_high - lead_low + 1`` entries,
    indexing ``query_ns``), so a chunk may bring its own snapshots; snapshot ``q``'s features
    go to column ``destination[q - query_offsets[0]]``. The leads must be whole accounts (as
    ``features.batch.batch_engine.chunk_bounds`` cuts them): the account roll-up is counted
    per account.
    """
    n_windows, n_codes = count_columns.shape
    counts = np.zeros((n_windows, n_codes), dtype=np.int64)
    flat_counts = counts.reshape(n_windows * n_codes)
    count_at, count_of = _present(count_columns.reshape(n_windows * n_codes))
    recency_at, recency_of = _present(recency_columns)
    decay_at, decay_of = _present(decay_columns)
    intent_at, intent_of = _present(intent_columns)
    # The per-type features go through a flat view of ``out``, at unsigned offsets (where the
    # feature's row starts, plus the column): numba tests every signed index for a negative
    # value to wrap around.
    n_out = out.shape[1]
    flat = out.reshape(out.size)
    count_start = (count_at * n_out).astype(np.uint64)
    recency_start = (recency_at * n_out).astype(np.uint64)
    decay_start = (decay_at * n_out).astype(np.uint64)
    intent_start = (intent_at * n_out).astype(np.uint64)
    low_pointer = np.zeros(n_windows, dtype=np.int64)
    last_ns = np.zeros(n_codes, dtype=np.int64)
    # 0.0 once the lead has an event of the type, NaN before: added to the days since the
    # last one, it makes "never" NaN without a branch per type (a branch that goes either way
    # from snapshot to snapshot, as a lead's types appear one by one).
    unseen = np.full(n_codes, np.nan)
    decay = np.zeros(n_codes, dtype=np.float64)
    fresh = np.zeros(n_codes, dtype=np.float64)
    base = query_offsets[0]
    recent_w, both_w, click_w = settings[RECENT_W], settings[BOTH_W], settings[CLICK_W]
    intent_w, open_code, click_code = settings[INTENT_W], settings[OPEN_CODE], settings[CLICK_CODE]
    recent_days, previous_days = settings[RECENT_DAYS], settings[PREVIOUS_DAYS]
    active_window, account_window = settings[ACTIVE_WINDOW_NS], settings[ACCOUNT_WINDOW_NS]
    account_low = -1
    account_times = np.zeros(0, dtype=np.int64)
    account_engaged = np.zeros(0, dtype=np.int64)
    for lead in range(lead_low, lead_high):
        q_low, q_high = query_offsets[lead - lead_low], query_offsets[lead - lead_low + 1]
        if q_low == q_high:
            continue
        e_low, e_high = event_offsets[lead], event_offsets[lead + 1]
        own, own_last, at = e_low, NAT_NS, 0
        alone = account_end[lead] - account_start[lead] == 1  # an account of one: no colleague
        if (
            scalar_columns[COLLEAGUES] >= 0
            and account_end[lead] >= 0
            and not alone
            and account_start[lead] != account_low
        ):
            # First lead of an account seen: count its engaged leads at every as_of of the
            # account's snapshots once, for all of them.
            account_low, account_high = account_start[lead], account_end[lead]
            if account_low < lead_low or account_high > lead_high:
                raise ValueError("a chunk of leads must hold whole accounts")
            account_times = distinct_times(
                query_ns, query_offsets[account_low - lead_low : account_high - lead_low + 1]
            )
            account_engaged = engaged_leads(
                account_low, account_high, account_times, event_offsets, event_ns, event_code,
                active, account_window,
            )  # fmt: skip
        counts[:] = 0
        low_pointer[:] = e_low
        unseen[:] = np.nan
        decay[:] = 0.0
        high = e_low
        previous = 0
        for q in range(q_low, q_high):
            now = query_ns[q]
            column = np.uint64(destination[q - base])
            # Lead-level features.
            if scalar_columns[TENURE] >= 0:
                created = created_ns[lead]
                value = np.nan if created == NAT_NS else (now - created) / DAY_NS
                out[scalar_columns[TENURE], column] = value
            if scalar_columns[LOST] >= 0 or scalar_columns[WINS] >= 0:
                wins = 0
                lost = 0
                for k in range(outcome_offsets[lead], outcome_offsets[lead + 1]):
                    if outcome_ns[k] <= now:
                        if outcome_won[k]:
                            wins += 1
                        else:
                            lost += 1
                _put(out, scalar_columns[LOST], column, lost)
                _put(out, scalar_columns[WINS], column, wins)
                _put(out, scalar_columns[RECYCLED], column, 1.0 if lost > 0 else 0.0)
            if scalar_columns[OPEN] >= 0:
                latest = NAT_NS
                for k in range(deal_offsets[lead], deal_offsets[lead + 1]):
                    if deal_opened_ns[k] <= now < deal_closed_ns[k] and deal_opened_ns[k] > latest:
                        latest = deal_opened_ns[k]
                found = latest != NAT_NS
                out[scalar_columns[OPEN], column] = 1.0 if found else 0.0
                out[scalar_columns[OPEN_DAYS], column] = (
                    (now - latest) / DAY_NS if found else np.nan
                )
            if n_windows == 0:
                continue
            # Events up to as_of enter every window; decayed sums carry over from the lead's
            # previous snapshot (weights of the newly seen events added separately, in order).
            fresh[:] = 0.0
            while high < e_high and event_ns[high] <= now:
                code = event_code[high]
                for w in range(n_windows):
                    counts[w, code] += 1
                last_ns[code] = event_ns[high]
                unseen[code] = 0.0
                fresh[code] += np.exp2(-((now - event_ns[high]) / DAY_NS) / half_life_days)
                high += 1
            if q > q_low:
                factor = np.exp2(-((now - previous) / DAY_NS) / half_life_days)
                for code in range(n_codes):
                    decay[code] = fresh[code] + decay[code] * factor
            else:
                decay[:] = fresh
            previous = now
            # Events at or before as_of - w days leave window w.
            for w in range(n_windows):
                bound = now - window_ns[w]
                k = low_pointer[w]
                while k < high and event_ns[k] <= bound:
                    counts[w, event_code[k]] -= 1
                    k += 1
                low_pointer[w] = k
            n_recent = 0
            n_both = 0
            engagement = 0.0
            # Per-type features, from lists of the columns the spec has: no branch per
            # (window, type) pair the spec lacks.
            for j in range(count_start.size):
                flat[count_start[j] + column] = flat_counts[count_of[j]]
            for j in range(recency_start.size):
                code = recency_of[j]
                flat[recency_start[j] + column] = (now - last_ns[code]) / DAY_NS + unseen[code]
            for j in range(decay_start.size):
                flat[decay_start[j] + column] = decay[decay_of[j]]
            for j in range(intent_start.size):
                flat[intent_start[j] + column] = 1.0 if counts[intent_w, intent_of[j]] > 0 else 0.0
            for code in range(n_codes):
                if active[code]:
                    n_recent += counts[recent_w, code]
                    n_both += counts[both_w, code]
                    engagement += decay[code]
            if scalar_columns[TREND] >= 0:
                out[scalar_columns[TREND], column] = (
                    n_recent / recent_days - (n_both - n_recent) / previous_days
                )
            if scalar_columns[CLICK_RATE] >= 0:
                opens = counts[click_w, open_code] if open_code >= 0 else 0
                clicks = counts[click_w, click_code] if click_code >= 0 else 0
                out[scalar_columns[CLICK_RATE], column] = clicks / opens if opens > 0 else np.nan
            if scalar_columns[DECAY_ENGAGEMENT] >= 0:
                out[scalar_columns[DECAY_ENGAGEMENT], column] = engagement
            if scalar_columns[ACTIVE_DAYS] >= 0:
                # Distinct days counted back from as_of: newest first, days only grow.
                days = 0
                last_day = -1
                k = high - 1
                while k >= e_low and now - event_ns[k] < active_window:
                    if active[event_code[k]]:
                        day = (now - event_ns[k]) // DAY_NS
                        if day != last_day:
                            days += 1
                            last_day = day
                    k -= 1
                out[scalar_columns[ACTIVE_DAYS], column] = days
            if scalar_columns[COLLEAGUES] >= 0:
                if account_end[lead] < 0:
                    out[scalar_columns[COLLEAGUES], column] = np.nan
                elif alone:
                    out[scalar_columns[COLLEAGUES], column] = 0.0
                else:
                    # The account's engaged leads at this as_of, less the lead itself.
                    while own < e_high and event_ns[own] <= now:
                        if active[event_code[own]]:
                            own_last = event_ns[own]
                        own += 1
                    itself = own_last != NAT_NS and now - own_last < account_window
                    while account_times[at] < now:  # the lead's as_of ascend: walk, not search
                        at += 1
                    engaged = account_engaged[at]
                    out[scalar_columns[COLLEAGUES], column] = engaged - (1 if itself else 0)


@numba.njit(cache=True, nogil=True)
def _present(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(at, of)``: the output columns the spec has (``columns >= 0``) and their indices."""
    of = np.flatnonzero(columns >= 0)
    return columns[of], of


def load_compiled() -> None:
    """Compile every kernel now (or load it from numba's on-disk cache), so a timed
    caller does not pay for it on first use."""
    empty = np.zeros(0, dtype=np.int64)
    one = np.zeros(1, dtype=np.int64)
    order_by_time(one, empty, empty, 0, 0)
    snapshot_kernel.lay_grid(empty, 0, one, empty, 0, True, 1, 1, 1, False)
    window = np.zeros(1, dtype=np.int64)
    sweep_leads(
        0, 0, one, empty, np.zeros(0, dtype=np.int16), one, empty,
        np.zeros(0, dtype=np.bool_),
        one, empty, empty, one, empty, empty, empty, empty, window,
        np.full((1, 1), -1, dtype=np.int64), np.full(1, -1, dtype=np.int64),
        np.full(1, -1, dtype=np.int64), np.full(1, -1, dtype=np.int64), np.ones(1, dtype=np.bool_),
        np.full(N_SCALARS, -1, dtype=np.int64), np.zeros(N_SETTINGS, dtype=np.int64), 14.0,
        np.zeros((0, 0)), empty,
    )  # fmt: skip
