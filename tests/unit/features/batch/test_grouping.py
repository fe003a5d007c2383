"""Grouping the batch engine's inputs by lead: lead ids looked up (as runs when a table comes
lead by lead), rows put in lead then time order, and the same features either way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from features.batch import grouping
from features.batch import lead_ids as lookup
from features.batch.batch_engine import AS_OF, compute_features
from features.batch.kernels import group_kernels
from features.batch.lead_ids import lead_positions
from features.ingest import contracts as c
from features.ingest.contracts import DataValidationError
from features.spec import FeatureParams, build_feature_spec
from features.time_rule import DAY_NS


def _chunked(values: list[str | None], cut: int) -> pd.Series:
    """A string column held by Arrow in two chunks, cut at ``cut``."""
    chunks = [pa.array(values[:cut], pa.large_string()), pa.array(values[cut:], pa.large_string())]
    return pd.Series(pd.array(pa.chunked_array(chunks), dtype="str"))


def test_lead_positions_come_as_runs_when_a_table_holds_them(monkeypatch) -> None:
    """Ids in runs (one run across the chunk boundary, one lead in two runs) are looked up
    once per run and give every row's position; ids in no order are looked up per row (in
    three slices at once, as they outnumber the leads)."""
    monkeypatch.setattr(lookup, "_RUN_SAMPLE", 16)
    monkeypatch.setattr(lookup, "default_threads", lambda: 3)
    lead_ids = pd.Series([f"L{i}" for i in range(50)], dtype="str")
    rng = np.random.default_rng(1)
    owners = np.repeat(rng.permutation(50), rng.integers(3, 12, 50))
    owners = np.r_[owners, owners[:3]]  # the first lead again, in a run of its own at the end
    values = [f"L{i}" for i in owners]
    cut = int(np.flatnonzero(owners[1:] == owners[:-1])[5]) + 1  # inside a run
    in_runs, shuffled = lead_positions(
        lead_ids, (_chunked(values, cut), "events"), (pd.Series(values).sample(frac=1.0,
        random_state=2).astype("str"), "outcomes"),
    )  # fmt: skip
    assert in_runs.ends is not None and in_runs.position.size < owners.size / 2
    np.testing.assert_array_equal(in_runs.per_row(), owners)
    assert shuffled.ends is None
    expected = pd.Series(values).sample(frac=1.0, random_state=2).str[1:].astype(int)
    np.testing.assert_array_equal(shuffled.per_row(), expected.to_numpy())


@pytest.mark.parametrize("in_runs", [True, False])
def test_unknown_leads_are_counted_per_row(monkeypatch, in_runs: bool) -> None:
    """In runs or looked up a row at a time in slices, unknown and missing ids are counted
    per row and named."""
    monkeypatch.setattr(lookup, "_RUN_SAMPLE", 16)
    monkeypatch.setattr(lookup, "default_threads", lambda: 3)
    lead_ids = pd.Series(["a", "b", "c"], dtype="str")
    values = ["a"] * 10 + ["nobody"] * 7 + [None] * 3 + ["c"] * 20
    if not in_runs:
        values = list(pd.Series(values, dtype=object).sample(frac=1.0, random_state=3))
    with pytest.raises(DataValidationError) as raised:
        lead_positions(lead_ids, (_chunked(values, 12), "events"))
    [problem] = raised.value.problems
    assert (problem.table, problem.column, problem.count) == ("events", c.LEAD_ID, 10)
    assert "nobody" in problem.examples


@pytest.mark.parametrize("bucket_rows", [1 << 15, 40])
def test_grouping_kernel_orders_rows_by_lead_then_time_like_lexsort(
    monkeypatch, bucket_rows: int
) -> None:
    """The counting sort + per-lead time sort equals a stable lexsort: leads with a few rows
    and up to 64 (placed by counting), with more (merge sort), already in time order or not,
    ties kept in input order; by row (through one bucket of leads, or 39 buckets of 8 leads,
    the last one of 5) or by runs of a lead's rows, on 1 or 3 threads."""
    monkeypatch.setattr(group_kernels, "_BUCKET_ROWS", bucket_rows)
    rng = np.random.default_rng(3)
    sizes = np.r_[rng.integers(0, 6, 300), [40, 500, 33, 64, 65, 8, 1]]
    rank = rng.permutation(np.repeat(np.arange(sizes.size), sizes)).astype(np.int64)
    ns = rng.integers(0, 50, rank.size).astype(np.int64)  # many equal times
    ns[rank == sizes.size - 2] = 7  # a lead whose rows are all at one time
    ns[rank == 0] = np.arange(np.count_nonzero(rank == 0))  # one already in time order
    order, offsets = group_kernels.group_by_lead(rank, ns, sizes.size + 2)
    np.testing.assert_array_equal(order, np.lexsort((ns, rank)))
    np.testing.assert_array_equal(offsets, np.r_[0, np.cumsum(np.r_[sizes, 0, 0])])
    # The events' variant scatters the values themselves (int32 ranks, int16 codes): the same
    # order, ties included, as the codes are distinct per row.
    code = rng.permutation(rank.size).astype(np.int16)
    for threads in (1, 3):  # ranges of leads grouped on several threads: the same result
        grouped_offsets, grouped_ns, grouped_code = group_kernels.group_by_lead_with(
            rank.astype(np.int32), ns, code, sizes.size + 2, threads
        )
        np.testing.assert_array_equal(grouped_offsets, offsets)
        np.testing.assert_array_equal(grouped_ns, ns[order])
        np.testing.assert_array_equal(grouped_code, code[order])
    # By runs: rows in lead order, but every fifth lead's later rows in a second run at the
    # end; one rank per run.
    by_lead = np.argsort(rank, kind="stable")
    within = np.arange(rank.size) - offsets[rank[by_lead]]
    later = (rank[by_lead] % 5 == 0) & (within >= sizes[rank[by_lead] % sizes.size] // 2)
    by_lead = by_lead[np.argsort(later, kind="stable")]
    run_rank, run_ns, run_code = rank[by_lead], ns[by_lead], code[by_lead]
    ends = np.r_[np.flatnonzero(run_rank[1:] != run_rank[:-1]) + 1, rank.size]
    assert ends.size < rank.size / 3
    expected = np.lexsort((run_ns, run_rank))
    for threads in (1, 3):
        grouped_offsets, grouped_ns, grouped_code = group_kernels.group_by_lead_with(
            run_rank[ends - 1].astype(np.int32), run_ns, run_code, sizes.size + 2, threads, ends
        )
        np.testing.assert_array_equal(grouped_offsets, offsets)
        np.testing.assert_array_equal(grouped_ns, run_ns[expected])
        np.testing.assert_array_equal(grouped_code, run_code[expected])


def test_events_in_runs_give_the_same_features_as_events_in_no_order(
    crm_factory, monkeypatch
) -> None:
    """Events exported lead by lead (grouped by runs) and the same events shuffled (grouped
    row by row) give equal tables."""
    monkeypatch.setattr(lookup, "_RUN_SAMPLE", 64)
    leads, events, outcomes = crm_factory(300, seed=12)
    spec = build_feature_spec(
        [("industry", "categorical", "Industry")], events[c.EVENT_TYPE].unique().tolist(),
        FeatureParams(),
    )  # fmt: skip
    rng = np.random.default_rng(4)
    rows = rng.integers(0, len(leads), 500)
    created = leads[c.CREATED_AT].to_numpy(dtype="datetime64[ns]").astype(np.int64)[rows]
    snapshots = pd.DataFrame(
        {
            c.LEAD_ID: leads[c.LEAD_ID].to_numpy()[rows],
            AS_OF: pd.to_datetime(created + rng.integers(0, 300 * DAY_NS, rows.size), utc=True),
        }
    )
    by_lead = events.sort_values(c.LEAD_ID, kind="stable", ignore_index=True)
    shuffled = events.sample(frac=1.0, random_state=5, ignore_index=True)
    runs, rows_only = lead_positions(
        leads[c.LEAD_ID], (by_lead[c.LEAD_ID], "events"), (shuffled[c.LEAD_ID], "events")
    )
    assert runs.ends is not None and rows_only.ends is None  # both paths are taken
    expected = compute_features(spec, leads, by_lead, outcomes, snapshots, chunk_leads=40)
    pd.testing.assert_frame_equal(
        compute_features(spec, leads, shuffled, outcomes, snapshots, chunk_leads=40), expected
    )
    # Event positions ranked a few at a time (in place, slice by slice): the same table.
    monkeypatch.setattr(grouping, "_RANK_SLICE", 7)
    for events_in_some_order in (by_lead, shuffled):
        pd.testing.assert_frame_equal(
            compute_features(
                spec, leads, events_in_some_order, outcomes, snapshots, chunk_leads=40
            ),
            expected,
        )
