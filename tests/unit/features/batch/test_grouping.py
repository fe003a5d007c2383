"""Grouping the batch engine's inputs by lead: lead ids looked up (as runs when a table comes
lead by lead), rows put in lead then time order, and the same features whatever the order of
the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from features.batch.batch_engine import compute_features
from features.batch.grouping import Grouped, stable_order
from features.ingest import contracts as c
from features.ingest import lead_keys
from features.ingest.contracts import AS_OF, DataValidationError
from features.ingest.lead_keys import lead_positions
from features.spec import FeatureParams, build_feature_spec
from features.time_rule import DAY_NS


def _chunked(values: list[str | None], cut: int) -> pd.Series:
    """A string column held by Arrow in two chunks, cut at ``cut``."""
    chunks = [pa.array(values[:cut], pa.large_string()), pa.array(values[cut:], pa.large_string())]
    return pd.Series(pd.array(pa.chunked_array(chunks), dtype="str"))


def test_lead_positions_come_as_runs_when_a_table_holds_them(monkeypatch) -> None:
    """Ids in runs (one run cut by the chunk boundary, one lead in two runs) are looked up
    once per run and give every row's position; ids in no order are looked up per row."""
    monkeypatch.setattr(lead_keys, "_RUN_SAMPLE", 16)
    lead_ids = pd.Series([f"L{i}" for i in range(50)], dtype="str")
    rng = np.random.default_rng(1)
    owners = np.repeat(rng.permutation(50), rng.integers(3, 12, 50))
    owners = np.r_[owners, owners[:3]]  # the first lead again, in a run of its own at the end
    values = [f"L{i}" for i in owners]
    cut = int(np.flatnonzero(owners[1:] == owners[:-1])[5]) + 1  # inside a run
    shuffled = pd.Series(values).sample(frac=1.0, random_state=2).astype("str")
    in_runs, one_by_one = lead_positions(
        lead_ids, (_chunked(values, cut), "events"), (shuffled, "outcomes")
    )
    assert in_runs.ends is not None and in_runs.position.size < owners.size / 2
    np.testing.assert_array_equal(in_runs.per_row(), owners)
    assert one_by_one.ends is None
    np.testing.assert_array_equal(one_by_one.per_row(), shuffled.str[1:].astype(int).to_numpy())


@pytest.mark.parametrize("in_runs", [True, False])
def test_unknown_leads_are_counted_per_row_and_their_table_named(monkeypatch, in_runs) -> None:
    """In runs or row by row, unknown and missing ids are counted per row and named, with
    the table they came from; a table without them raises nothing."""
    monkeypatch.setattr(lead_keys, "_RUN_SAMPLE", 16)
    lead_ids = pd.Series(["a", "b", "c"], dtype="str")
    values = ["a"] * 10 + ["nobody"] * 7 + [None] * 3 + ["c"] * 20
    if not in_runs:
        values = list(pd.Series(values, dtype=object).sample(frac=1.0, random_state=3))
    with pytest.raises(DataValidationError) as raised:
        lead_positions(
            lead_ids, (pd.Series(["b", "a"], dtype="str"), "outcomes"),
            (_chunked(values, 12), "events"),
        )  # fmt: skip
    [problem] = raised.value.problems
    assert (problem.table, problem.column, problem.count) == ("events", c.LEAD_ID, 10)
    assert "nobody" in problem.examples


def test_duplicate_lead_ids_are_an_error_naming_them(small_crm) -> None:
    leads, events, outcomes = small_crm
    spec = build_feature_spec([], events[c.EVENT_TYPE].unique().tolist(), FeatureParams())
    twice = pd.concat([leads, leads.iloc[[3]]], ignore_index=True)
    snapshots = pd.DataFrame(
        {c.LEAD_ID: leads[c.LEAD_ID].iloc[:2], AS_OF: pd.Timestamp("2025-01-01", tz="UTC")}
    )
    with pytest.raises(DataValidationError, match=r"leads\.lead_id: duplicate lead ids") as raised:
        compute_features(spec, twice, events, outcomes, snapshots)
    assert raised.value.problems[0].examples == (leads[c.LEAD_ID].iloc[3],)


@pytest.mark.parametrize("threads", [1, 3])
def test_rows_are_grouped_by_lead_then_time_like_a_stable_lexsort(threads: int) -> None:
    """Leads with no rows, a few, more than are sorted by insertion (merge sort), already in
    time order or not, ties kept in input order: the order of ``np.lexsort``, row by row and
    by runs of a lead's rows (every fifth lead's later rows in a second run at the end)."""
    rng = np.random.default_rng(3)
    sizes = np.r_[rng.integers(0, 6, 300), [40, 500, 33, 32, 65, 8, 1]]
    n_leads = sizes.size + 2
    rank = rng.permutation(np.repeat(np.arange(sizes.size), sizes)).astype(np.int32)
    ns = rng.integers(0, 50, rank.size).astype(np.int64)  # many equal times
    ns[rank == sizes.size - 2] = 7  # a lead whose rows are all at one time
    ns[rank == 0] = np.arange(np.count_nonzero(rank == 0))  # one already in time order
    offsets = np.r_[0, np.cumsum(np.r_[sizes, 0, 0])]
    row = np.arange(rank.size)
    grouped = Grouped(rank, ns, n_leads, row, keep_order=True, threads=threads)
    np.testing.assert_array_equal(grouped.order, np.lexsort((ns, rank)))
    np.testing.assert_array_equal(grouped.offsets, offsets)
    np.testing.assert_array_equal(grouped.ns, ns[grouped.order])
    np.testing.assert_array_equal(grouped.extra[0], grouped.order)

    by_lead = np.argsort(rank, kind="stable")
    within = row - offsets[rank[by_lead]]
    later = (rank[by_lead] % 5 == 0) & (within >= sizes[rank[by_lead]] // 2)
    in_runs = by_lead[np.argsort(later, kind="stable")]
    run_rank, run_ns = rank[in_runs], ns[in_runs]
    ends = np.r_[np.flatnonzero(run_rank[1:] != run_rank[:-1]) + 1, rank.size]
    assert ends.size < rank.size / 3
    grouped = Grouped(run_rank[ends - 1], run_ns, n_leads, row, run_ends=ends, threads=threads)
    expected = np.lexsort((run_ns, run_rank))
    np.testing.assert_array_equal(grouped.offsets, offsets)
    np.testing.assert_array_equal(grouped.ns, run_ns[expected])
    np.testing.assert_array_equal(grouped.extra[0], expected)


def test_events_in_runs_give_the_same_features_as_events_in_no_order(
    crm_factory, monkeypatch
) -> None:
    """Events exported lead by lead (grouped by runs) and the same events shuffled (grouped
    row by row) give equal tables."""
    monkeypatch.setattr(lead_keys, "_RUN_SAMPLE", 64)
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
    pd.testing.assert_frame_equal(
        compute_features(spec, leads, shuffled, outcomes, snapshots, chunk_leads=40),
        compute_features(spec, leads, by_lead, outcomes, snapshots, chunk_leads=40),
        rtol=0, atol=0,
    )  # fmt: skip


@pytest.mark.parametrize("high", [3, 70_000, 2**31 - 1])
def test_stable_order_is_numpys_stable_argsort(high: int) -> None:
    keys = np.random.default_rng(7).integers(0, high, 200_000).astype(np.int64)
    assert np.array_equal(stable_order(keys), np.argsort(keys, kind="stable"))
