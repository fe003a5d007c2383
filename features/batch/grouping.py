"""The batch engine's inputs as lead-grouped, time-ordered arrays (where the kernel writes
each feature is ``features.batch.kernel_layout``).

Every table (events, outcomes, deals, snapshots) is grouped by lead rank with a counting
sort (``features.batch.kernels.group_kernels``) and put in time order within each lead, so the kernel can
sweep one lead's rows at a time. Leads are ranked so that an account's leads are contiguous:
a chunk of ranks then holds whole accounts and the account roll-up sees every colleague.
Lead ids are looked up by ``features.batch.lead_ids``; bad keys or timestamps raise errors naming
the table and column.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from features.batch.kernel_layout import Layout, active_codes, has_opportunity_features
from features.batch.kernels import group_kernels
from features.batch.kernels import sweep as kernel
from features.batch.kernels.buying_state import sweep_buying_state
from features.batch.kernels.line_stores import row_lines
from features.batch.lead_ids import default_threads, lead_positions, positions_in
from features.ingest import contracts as c
from features.ingest.contracts import DataValidationError, Problem, examples_of
from features.spec import FeatureSpec
from features.time_rule import NAT_NS, SECOND_NS

AS_OF = "as_of"
_NEVER = np.iinfo(np.int64).max  # close time of a deal still open at export
_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")
_CODE_SLICE = 1 << 20  # event types hashed per call: ~10 MB of temporaries
_RANK_SLICE = 1 << 20  # event positions ranked per step: a 4-8 MB temporary


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
    """Epoch ns as UTC timestamps. Read as datetime64 in place: ``pd.to_datetime`` on integers
    took ~100x longer (0.13 s per 3.2M snapshots)."""
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
    order = np.lexsort((np.arange(n), group))
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


def _ranked_in_place(rank: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``rank[positions]``, written over ``positions`` a slice at a time (the temporaries
    stay small enough for malloc to reuse)."""
    for low in range(0, positions.size, _RANK_SLICE):
        part = positions[low : low + _RANK_SLICE]
        part[:] = rank[part]
    return positions


class Grouped:
    """A table's rows grouped by lead rank and in time order within a lead: lead ``r``'s rows
    are ``[offsets[r], offsets[r + 1])`` of ``ns`` and of each extra column. ``order`` (input
    row of each grouped row) is kept only when asked for: it is as large as the table."""

    def __init__(
        self, rank: np.ndarray, ns: np.ndarray, n_leads: int, *extra: np.ndarray,
        keep_order: bool = False,
    ) -> None:  # fmt: skip
        order, self.offsets = group_kernels.group_by_lead(rank, ns, n_leads)
        self.ns = ns[order]
        self.extra = [column[order] for column in extra]
        self.order = order if keep_order else None

    @classmethod
    def with_code(
        cls,
        rank: np.ndarray,
        ns: np.ndarray,
        n_leads: int,
        code: np.ndarray,
        threads: int = 1,
        run_ends: np.ndarray | None = None,
    ) -> Grouped:
        """The same grouping for one extra column, without a row-order array: for the events,
        where that array alone was ~8 bytes per event. ``threads`` ranges of leads at once;
        ``rank`` per run of ``run_ends`` when given (see :class:`LeadRuns`)."""
        grouped = cls.__new__(cls)
        grouped.offsets, grouped.ns, sorted_code = group_kernels.group_by_lead_with(
            rank, ns, code, n_leads, threads, run_ends
        )
        grouped.extra, grouped.order = [sorted_code], None
        return grouped


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
        lead_ids = leads[c.LEAD_ID]
        # Events are most of the input: their lead ids (with the other tables', in the same
        # call) are looked up on every core while another thread ranks the leads by account
        # and then hashes the event types; then every core groups the events (the kernels and
        # Arrow's hashing release the GIL).
        threads = default_threads()
        opportunities = has_opportunity_features(spec)
        still_open = open_deals if opportunities and open_deals is not None else outcomes.iloc[:0]
        with ThreadPoolExecutor(1, thread_name_prefix="features-prepare") as pool:
            ranked = pool.submit(lead_order, leads)
            codes = pool.submit(self._event_codes, events[c.EVENT_TYPE])
            positions = lead_positions(
                lead_ids, (events[c.LEAD_ID], "events"), (outcomes[c.LEAD_ID], "outcomes"),
                (still_open[c.LEAD_ID], "open_deals"),
            )  # fmt: skip
            rank, self.account_start, self.account_end = ranked.result()
            self.lead_of_rank = np.empty(n, dtype=np.int64)
            self.lead_of_rank[rank] = np.arange(n)
            # The positions are views of one array (as large as the events, unless they came
            # in runs): the events' are ranked in place (a fresh array as large as the events
            # costs its page faults too), the rest let go.
            event_runs = positions[0]
            event_rank = _ranked_in_place(rank, event_runs.position)
            outcome_rank, open_rank = (rank[runs.per_row()] for runs in positions[1:])
            del positions
            self.outcomes = Grouped(
                outcome_rank,
                timestamps_ns(outcomes[c.CLOSED_AT], "outcomes", c.CLOSED_AT),
                n,
                outcomes[c.WON].to_numpy(dtype=bool),
            )
            none = np.zeros(0, dtype=np.int64)  # no opportunity features: no deals to group
            self.deals = (
                self._opportunities(n, outcomes, outcome_rank, still_open, open_rank)
                if opportunities
                else Grouped(none, none, n, none)
            )
            self.queries = None
            if snapshots is not None and query_lead is not None:
                self.queries = Grouped(rank[query_lead], snapshot_ns(snapshots), n, keep_order=True)
            event_ns = timestamps_ns(events[c.OCCURRED_AT], "events", c.OCCURRED_AT)
            self.events = Grouped.with_code(
                event_rank, event_ns, n, codes.result(), threads, event_runs.ends
            )
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
        categories; strings are hashed a slice at a time into the narrow result, so the Arrow
        temporaries stay small while the lead ids are hashed alongside."""
        known = self.spec.event_types
        missing = types.isna().to_numpy()
        if missing.any():
            raise DataValidationError(
                [Problem("events", c.EVENT_TYPE, "missing event type", int(missing.sum()))]
            )
        narrow = np.int16 if len(known) < np.iinfo(np.int16).max else np.int64  # 1/4 the memory
        universe = pd.Series(known, dtype="str")

        def code_of(values: pd.Series) -> np.ndarray:
            found = positions_in(values, universe)
            return np.where(found < 0, len(known), found).astype(narrow)

        if isinstance(types.dtype, pd.CategoricalDtype):
            # No string hashed per event: 25M events, 1M leads, ~1.4 s less in time order.
            return code_of(types.cat.categories.to_series())[types.cat.codes.to_numpy()]
        codes = np.empty(len(types), dtype=narrow)
        for low in range(0, len(types), _CODE_SLICE):
            codes[low : low + _CODE_SLICE] = code_of(types.iloc[low : low + _CODE_SLICE])
        return codes

    @staticmethod
    def _opportunities(
        n: int,
        outcomes: pd.DataFrame,
        outcome_rank: np.ndarray,
        still_open: pd.DataFrame,
        open_rank: np.ndarray,
    ) -> Grouped:
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
            *row_lines(out), out.shape[0], destination,
        )  # fmt: skip
        if (layout.buying_rows >= 0).any():
            sweep_buying_state(
                low, high, self.events.offsets, self.events.ns, self.events.extra[0],
                query_offsets, query_ns, self.active, layout.intent_codes, layout.buying_rows,
                layout.buying_settings, out, destination,
            )  # fmt: skip
