"""The batch engine's inputs as lead-grouped, time-ordered arrays (where the kernel writes
each feature is ``features.batch.kernel_layout``).

Leads are ranked so that an account's leads are contiguous (a chunk of ranks holds whole
accounts). Every table is put in lead-rank order by a stable sort, then each lead's rows in
time order (``features.batch.kernels.time_order``). Lead ids are looked up with Arrow's
hashing (``features.ingest.lead_keys``); bad keys or timestamps raise errors naming the
table and column.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from features.batch.kernel_layout import Layout, active_codes, has_opportunity_features
from features.batch.kernels import sweep as kernel
from features.batch.kernels.buying_state import sweep_buying_state
from features.batch.kernels.time_order import order_by_time
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF, DataValidationError, Problem, examples_of
from features.ingest.lead_keys import lead_positions, positions_in
from features.spec import FeatureSpec
from features.time_rule import NAT_NS, SECOND_NS

_NEVER = np.iinfo(np.int64).max  # close time of a deal still open at export
_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")
_RADIX_MIN_ROWS = 1 << 16  # below this, one comparison sort is as quick as two radix passes


def default_threads() -> int:
    """The CPUs this process may run on (its affinity, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def timestamps_ns(values: pd.Series, table: str, column: str) -> np.ndarray:
    """UTC epoch ns of a timestamp column; missing values are an error naming the column."""
    missing = values.isna()
    if missing.any():
        raise DataValidationError([Problem(table, column, "missing timestamp", int(missing.sum()))])
    # A canonical column (UTC, ns) is read in place: no copy of the largest table.
    stamps = values if values.dtype == _UTC_NS else pd.to_datetime(values, utc=True)
    if stamps.dtype != _UTC_NS:
        stamps = stamps.dt.as_unit("ns")
    return stamps.array.asi8


def utc_datetimes(ns: np.ndarray) -> pd.DatetimeIndex:
    """Epoch ns as UTC timestamps, read as datetime64 in place (``pd.to_datetime`` on
    integers converts value by value)."""
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("M8[ns]")).tz_localize("UTC")


def snapshot_ns(snapshots: pd.DataFrame) -> np.ndarray:
    """Each snapshot's as_of in epoch ns, truncated to whole seconds (the time rule); a missing
    as_of is an error naming the lead."""
    as_of = snapshots[AS_OF]
    if as_of.isna().any():
        raise DataValidationError(
            [
                Problem(
                    "snapshots", AS_OF, "missing as_of", int(as_of.isna().sum()),
                    examples_of(snapshots.loc[as_of.isna(), c.LEAD_ID]),
                )
            ]
        )  # fmt: skip
    return timestamps_ns(as_of, "snapshots", AS_OF) // SECOND_NS * SECOND_NS


def lead_order(leads: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank of each lead (accounts contiguous), and each rank's account range [start, end)."""
    n = len(leads)
    if c.ACCOUNT_ID in leads.columns:
        account = pd.factorize(leads[c.ACCOUNT_ID], use_na_sentinel=True)[0]
    else:
        account = np.full(n, -1, dtype=np.intp)
    # No-account leads get unique pseudo-accounts after the real ones: one lead per group.
    group = np.where(account >= 0, account, account.max(initial=-1) + 1 + np.arange(n))
    order = np.argsort(group, kind="stable")
    rank = np.empty(n, dtype=np.int32 if n < np.iinfo(np.int32).max else np.int64)
    rank[order] = np.arange(n)
    sorted_group = group[order]
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    sizes = np.diff(np.r_[starts, n])
    start_of_rank = np.repeat(starts, sizes)
    end_of_rank = start_of_rank + np.repeat(sizes, sizes)
    has_account = (account >= 0)[order]
    end_of_rank = np.where(has_account, end_of_rank, -1)  # -1: no account
    return rank, start_of_rank, end_of_rank


def stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for non-negative integer keys: keys below 2**32 as
    two 16-bit halves, low then high, which numpy sorts by radix (linear) where wider keys
    take a comparison sort."""
    if keys.size < _RADIX_MIN_ROWS or keys.max(initial=0) >= 1 << 32:
        return np.argsort(keys, kind="stable")
    by_low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return by_low[np.argsort((keys[by_low] >> 16).astype(np.uint16), kind="stable")]


def by_lead(
    rank: np.ndarray, n_leads: int, run_ends: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(order, offsets)``: input rows in lead-rank order (stable), and where each lead's
    rows start in it. ``rank`` is per row, or per run of ``run_ends`` (exclusive ends of runs
    of one lead's rows), in which case whole runs move: a sort of one key per run."""
    # Rows one by one (a time-ordered activity log) come in no lead order: radix. Runs are
    # few and often nearly sorted, which numpy's stable comparison sort is quick at.
    runs = stable_order(rank) if run_ends is None else np.argsort(rank, kind="stable")
    lead_runs = np.searchsorted(rank[runs], np.arange(n_leads + 1))
    if run_ends is None:
        return runs, lead_runs
    lengths = np.diff(run_ends, prepend=0)[runs]
    ends = np.cumsum(lengths)
    shift = run_ends[runs] - ends  # from a row's place in lead order to its input row
    order = np.repeat(shift, lengths) + np.arange(ends[-1] if ends.size else 0)
    return order, np.r_[0, ends][lead_runs]


class Grouped:
    """A table's rows grouped by lead rank and in time order within a lead: lead ``r``'s rows
    are ``[offsets[r], offsets[r + 1])`` of ``ns`` and of each extra column. ``order`` (input
    row of each grouped row) is kept only when asked for: it is as large as the table."""

    def __init__(
        self, rank: np.ndarray, ns: np.ndarray, n_leads: int, *extra: np.ndarray,
        keep_order: bool = False, run_ends: np.ndarray | None = None, threads: int = 1,
    ) -> None:  # fmt: skip
        order, self.offsets = by_lead(rank, n_leads, run_ends)
        self.ns = ns[order]
        bounds = np.linspace(0, n_leads, max(threads, 1) + 1).astype(np.int64)

        def order_part(t: int) -> None:
            order_by_time(self.offsets, self.ns, order, bounds[t], bounds[t + 1])

        with ThreadPoolExecutor(max(threads, 1), thread_name_prefix="features-order") as pool:
            list(pool.map(order_part, range(bounds.size - 1)))
        self.extra = [column[order] for column in extra]
        self.order = order if keep_order else None


class Prepared:
    """Inputs as lead-grouped, time-ordered arrays plus the kernel's column layout.

    ``snapshots`` (with ``query_lead``, each row's position in ``leads``) are the default
    queries of :meth:`fill`; without them, each call brings its own (see
    ``features.trainset.training_rows``).
    """

    def __init__(
        self,
        spec: FeatureSpec,
        leads: pd.DataFrame,
        events: pd.DataFrame,
        outcomes: pd.DataFrame,
        snapshots: pd.DataFrame | None = None,
        query_lead: np.ndarray | None = None,
        open_deals: pd.DataFrame | None = None,
    ) -> None:
        self.spec = spec
        n = len(leads)
        # The lead ranks and event codes on another thread while the ids are looked up
        # (Arrow's hashing releases the GIL); then each lead's events are put in time order
        # on every core.
        opportunities = has_opportunity_features(spec)
        still_open = open_deals if opportunities and open_deals is not None else outcomes.iloc[:0]
        with ThreadPoolExecutor(1, thread_name_prefix="features-prepare") as pool:
            ranked = pool.submit(lead_order, leads)
            codes = pool.submit(self._event_codes, events[c.EVENT_TYPE])
            event_runs, outcome_runs, open_runs = lead_positions(
                leads[c.LEAD_ID], (events[c.LEAD_ID], "events"),
                (outcomes[c.LEAD_ID], "outcomes"), (still_open[c.LEAD_ID], "open_deals"),
            )  # fmt: skip
            rank, self.account_start, self.account_end = ranked.result()
            event_codes = codes.result()
        self.lead_of_rank = np.empty(n, dtype=np.int64)
        self.lead_of_rank[rank] = np.arange(n)
        outcome_rank, open_rank = rank[outcome_runs.per_row()], rank[open_runs.per_row()]
        self.outcomes = Grouped(
            outcome_rank, timestamps_ns(outcomes[c.CLOSED_AT], "outcomes", c.CLOSED_AT), n,
            outcomes[c.WON].to_numpy(dtype=bool),
        )  # fmt: skip
        none = np.zeros(0, dtype=np.int64)  # no opportunity features: no deals to group
        self.deals = (
            self._opportunities(n, outcomes, outcome_rank, still_open, open_rank)
            if opportunities
            else Grouped(none, none, n, none)
        )
        self.queries = None
        if snapshots is not None and query_lead is not None:
            self.queries = Grouped(rank[query_lead], snapshot_ns(snapshots), n, keep_order=True)
        self.events = Grouped(
            rank[event_runs.position], timestamps_ns(events[c.OCCURRED_AT], "events", c.OCCURRED_AT),
            n, event_codes, run_ends=event_runs.ends, threads=default_threads(),
        )  # fmt: skip
        self.query_order = self.queries.order if self.queries is not None else None
        self.active = active_codes(spec)
        # Won deals alone, for labels and the already-won exclusion of snapshots.
        won = self.outcomes.extra[0]
        self.won_ns = self.outcomes.ns[won]
        self.won_offsets = np.r_[0, np.cumsum(won)][self.outcomes.offsets]
        created = np.full(n, NAT_NS, dtype=np.int64)
        if c.CREATED_AT in leads.columns:
            stamps = pd.to_datetime(leads[c.CREATED_AT], utc=True)
            created = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        self.created_by_rank = np.empty(n, dtype=np.int64)
        self.created_by_rank[rank] = created
        self.layout = Layout(spec)

    def _event_codes(self, types: pd.Series) -> np.ndarray:
        """Each event type's code (types the spec never saw share the last code: they count
        only in overall features). Categorical types (as the loaders give them) map their few
        categories instead of hashing a string per event."""
        known = self.spec.event_types
        missing = types.isna().to_numpy()
        if missing.any():
            raise DataValidationError(
                [Problem("events", c.EVENT_TYPE, "missing event type", int(missing.sum()))]
            )
        universe = pd.Series(known, dtype="str")
        narrow = np.int16 if len(known) < np.iinfo(np.int16).max else np.int64

        def code_of(values: pd.Series) -> np.ndarray:
            found = positions_in(values, universe)
            return np.where(found < 0, len(known), found).astype(narrow)

        if isinstance(types.dtype, pd.CategoricalDtype):
            return code_of(types.cat.categories.to_series())[types.cat.codes.to_numpy()]
        return code_of(types)

    @staticmethod
    def _opportunities(
        n: int, outcomes: pd.DataFrame, outcome_rank: np.ndarray,
        still_open: pd.DataFrame, open_rank: np.ndarray,
    ) -> Grouped:  # fmt: skip
        """Deals with a known open date (``outcomes`` with opened_at, and ``still_open`` at
        export), grouped by lead in opened_at order; ``extra[0]`` is the close time in ns
        (``_NEVER`` while still open)."""
        if c.OPENED_AT in outcomes.columns:
            dated = outcomes[c.OPENED_AT].notna().to_numpy()
        else:  # deals without open dates say nothing about open opportunities
            dated = np.zeros(len(outcomes), dtype=bool)
        none = np.zeros(0, dtype=np.int64)
        opened = [
            timestamps_ns(outcomes.loc[dated, c.OPENED_AT], "outcomes", c.OPENED_AT)
            if dated.any() else none,
            timestamps_ns(still_open[c.OPENED_AT], "open_deals", c.OPENED_AT)
            if len(still_open) else none,
        ]  # fmt: skip
        closed = [
            timestamps_ns(outcomes.loc[dated, c.CLOSED_AT], "outcomes", c.CLOSED_AT),
            np.full(len(still_open), _NEVER),
        ]
        return Grouped(
            np.concatenate([outcome_rank[dated], open_rank]), np.concatenate(opened), n,
            np.concatenate(closed),
        )  # fmt: skip

    def rows(self, low: int, high: int) -> slice:
        """The (sorted) snapshot rows of leads ranked [low, high)."""
        return slice(int(self.queries.offsets[low]), int(self.queries.offsets[high]))

    def fill(
        self,
        low: int,
        high: int,
        out: np.ndarray,
        destination: np.ndarray,
        queries: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Computed features of leads ranked [low, high) into ``out`` (features x columns,
        each row contiguous): their snapshot ``i`` (in lead-rank then time order) goes to
        column ``destination[i]``.
        ``queries`` = (offsets of these leads' snapshots, ``high - low + 1`` entries; their
        whole-second as_of ns), default: the snapshots given at construction."""
        if queries is None:
            queries = (self.queries.offsets[low : high + 1], self.queries.ns)
        query_offsets, query_ns = queries
        layout = self.layout
        kernel.sweep_leads(
            low, high,
            self.events.offsets, self.events.ns, self.events.extra[0],
            self.outcomes.offsets, self.outcomes.ns, self.outcomes.extra[0],
            self.deals.offsets, self.deals.ns, self.deals.extra[0],
            query_offsets, query_ns,
            self.created_by_rank, self.account_start, self.account_end,
            layout.window_ns, layout.counts, layout.recency, layout.decay, layout.intent,
            self.active, layout.scalars, layout.settings, float(self.spec.params.half_life_days),
            out, destination,
        )  # fmt: skip
        if (layout.buying_rows >= 0).any():
            sweep_buying_state(
                low, high, self.events.offsets, self.events.ns, self.events.extra[0],
                query_offsets, query_ns, self.active, layout.intent_codes, layout.buying_rows,
                layout.buying_settings, out, destination,
            )  # fmt: skip
