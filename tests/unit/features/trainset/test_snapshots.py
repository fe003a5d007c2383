"""Snapshots, labels and splits: the point-in-time rules of training examples."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.ingest.dataset_config import SnapshotConfig
from features.trainset.snapshots import GridRules, build_snapshots, lay_snapshots
from features.trainset.splits import split_out_of_time, split_static

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2025-01-15 10:30:00", tz="UTC")


def _leads(created: list[pd.Timestamp]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.LEAD_ID: pd.Series([f"L{i}" for i in range(len(created))], dtype="str"),
            c.CREATED_AT: pd.to_datetime(created, utc=True),
            c.ACCOUNT_ID: pd.Series([None] * len(created), dtype="str"),
        }
    )


def _outcomes(rows: list[tuple[str, pd.Timestamp, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.LEAD_ID: pd.Series([r[0] for r in rows], dtype="str"),
            c.CLOSED_AT: pd.to_datetime([r[1] for r in rows], utc=True),
            c.WON: np.array([r[2] for r in rows], dtype=bool),
        }
    )


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.LEAD_ID: pd.Series([], dtype="str"),
            c.OCCURRED_AT: pd.Series([], dtype=c.TIMESTAMP_DTYPE),
            c.EVENT_TYPE: pd.Series([], dtype="str"),
        }
    )


def test_periodic_grid_is_epoch_aligned_and_starts_after_creation(dataset_factory) -> None:
    leads = _leads([T0, T0 + 45 * DAY])
    data = dataset_factory(leads, _events(), _outcomes([]), attributes=())
    until = T0 + 400 * DAY
    snaps = build_snapshots(data, every_days=30, horizon_days=90, observed_until=until)
    both = pd.concat([snaps.labelled, snaps.unlabelled])
    as_of_ns = both[AS_OF].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    assert (as_of_ns % (30 * 86_400 * 10**9) == 0).all()
    for lead_id, created in zip(leads[c.LEAD_ID], leads[c.CREATED_AT], strict=True):
        mine = both.loc[both[c.LEAD_ID] == lead_id, AS_OF].sort_values()
        assert mine.iloc[0] >= created and mine.iloc[0] - created < 30 * DAY
        assert (mine.diff().dropna() == 30 * DAY).all() and mine.iloc[-1] <= until
    # Labelled exactly when the whole horizon is observed.
    assert (snaps.labelled[AS_OF] + 90 * DAY <= until).all()
    assert (snaps.unlabelled[AS_OF] + 90 * DAY > until).all() and len(snaps.unlabelled) == 6
    # A lead's snapshots do not depend on which other leads are loaded.
    alone = build_snapshots(
        dataset_factory(leads.iloc[1:], _events(), _outcomes([]), attributes=()),
        every_days=30, horizon_days=90, observed_until=until,
    )  # fmt: skip
    mine = snaps.labelled.loc[snaps.labelled[c.LEAD_ID] == "L1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.labelled, mine)


def test_label_window_is_open_at_as_of_and_closed_at_the_horizon(dataset_factory) -> None:
    leads = _leads([pd.Timestamp("2024-01-01", tz="UTC")])
    until = pd.Timestamp("2026-01-01", tz="UTC")
    config = SnapshotConfig(grid="periodic", repeat_purchase=True)
    as_of = pd.Timestamp(670 * 30 * 86_400 * 10**9, tz="UTC")  # a grid point in 2025

    def label_with_win_at(closed: pd.Timestamp) -> int:
        data = dataset_factory(
            leads, _events(), _outcomes([("L0", closed, True)]), attributes=(), snapshots=config
        )
        snaps = build_snapshots(data, every_days=30, horizon_days=90, observed_until=until)
        return int(snaps.labelled.set_index(AS_OF).at[as_of, c.LABEL])

    assert label_with_win_at(as_of) == 0
    assert label_with_win_at(as_of + pd.Timedelta(seconds=1)) == 1
    assert label_with_win_at(as_of + 90 * DAY) == 1
    assert label_with_win_at(as_of + 90 * DAY + pd.Timedelta(seconds=1)) == 0


def test_lost_deals_never_label_and_winners_leave_unless_repeat(dataset_factory) -> None:
    created = pd.Timestamp("2024-01-01", tz="UTC")
    leads = _leads([created, created])
    win = created + 200 * DAY
    outcomes = _outcomes([("L0", win, True), ("L1", win, False)])
    until = pd.Timestamp("2025-06-01", tz="UTC")
    data = dataset_factory(leads, _events(), outcomes, attributes=())
    snaps = build_snapshots(data, every_days=30, horizon_days=90, observed_until=until)
    l0 = snaps.labelled[snaps.labelled[c.LEAD_ID] == "L0"]
    assert (l0[AS_OF] < win).all() and l0[c.LABEL].sum() == 3  # 3 grid points within 90 d
    assert snaps.labelled.loc[snaps.labelled[c.LEAD_ID] == "L1", c.LABEL].sum() == 0
    no_deals = build_snapshots(
        dataset_factory(leads, _events(), _outcomes([]), attributes=()),
        every_days=30, horizon_days=90, observed_until=until,
    )  # fmt: skip
    everything = len(no_deals.labelled) + len(no_deals.unlabelled)
    assert snaps.excluded_already_won > 0
    assert len(snaps.labelled) + len(snaps.unlabelled) + snaps.excluded_already_won == everything
    repeat = dataset_factory(
        leads, _events(), outcomes, attributes=(), snapshots=SnapshotConfig(repeat_purchase=True)
    )
    kept = build_snapshots(repeat, every_days=30, horizon_days=90, observed_until=until)
    assert (kept.labelled.loc[kept.labelled[c.LEAD_ID] == "L0", AS_OF] > win).any()
    assert kept.excluded_already_won == 0


def test_at_creation_grid_and_max_age(dataset_factory) -> None:
    created = [T0 + pd.Timedelta(milliseconds=250), T0 + 10 * DAY]
    leads = _leads(created)
    until = T0 + 300 * DAY
    at_creation = dataset_factory(
        leads, _events(), _outcomes([]), attributes=(), snapshots=SnapshotConfig(grid="at_creation")
    )
    snaps = build_snapshots(at_creation, every_days=30, horizon_days=90, observed_until=until)
    assert snaps.labelled[AS_OF].tolist() == [T0 + pd.Timedelta(seconds=1), T0 + 10 * DAY]
    young = dataset_factory(
        leads, _events(), _outcomes([]), attributes=(),
        snapshots=SnapshotConfig(max_lead_age_days=60),
    )  # fmt: skip
    snaps = build_snapshots(young, every_days=30, horizon_days=90, observed_until=until)
    age = snaps.labelled[AS_OF] - snaps.labelled[c.LEAD_ID].map(
        dict(zip(leads[c.LEAD_ID], leads[c.CREATED_AT], strict=True))
    )
    assert (age <= 60 * DAY).all() and len(snaps.labelled) == 4


def _grid_frame(n_dates: int, per_date: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        np.repeat(np.arange(n_dates) * 30, per_date), unit="D"
    )
    return pd.DataFrame(
        {
            c.LEAD_ID: [f"L{i}" for i in range(n_dates * per_date)],
            AS_OF: dates,
            c.LABEL: (rng.random(n_dates * per_date) < 0.2).astype("int8"),
        }
    )


def test_out_of_time_split_orders_segments_and_purges_overlapping_labels() -> None:
    frame = _grid_frame(40, 50, seed=1)
    split = split_out_of_time(frame, horizon_days=90)
    names = list(split.segments)
    assert names == ["train", "valid", "calibration", "holdout"]
    kept = sum(len(s) for s in split.segments.values())
    assert kept + sum(split.purged.values()) == len(frame)
    for earlier, later in itertools.pairwise(names):
        assert split.segments[earlier][AS_OF].max() + 90 * DAY <= split.starts[later]
        assert split.segments[later][AS_OF].min() >= split.starts[later]
        # as_of + 90 d <= next start keeps all but the last two 30-day grid dates of a segment.
        assert split.purged[earlier] == 2 * 50
    assert split.purged["holdout"] == 0
    shares = {name: len(s) / kept for name, s in split.segments.items()}
    expected = {"train": 0.6, "valid": 0.15, "calibration": 0.1, "holdout": 0.15}
    assert shares == pytest.approx(expected, abs=0.04)  # fractions of the rows *kept*
    # Short histories still get every segment: 14 of 20 dates are usable after purging.
    short = split_out_of_time(_grid_frame(20, 50, seed=1), horizon_days=90)
    assert all(len(s) >= 50 for s in short.segments.values())
    with pytest.raises(ValueError, match="keep rows after purging"):
        split_out_of_time(_grid_frame(9, 50, seed=1), horizon_days=90)
    with pytest.raises(ValueError, match="distinct as_of dates"):
        split_out_of_time(_grid_frame(3, 5, seed=1), horizon_days=90)


def test_static_split_is_stratified_seeded_and_complete() -> None:
    frame = _grid_frame(1, 2000, seed=4)
    split = split_static(frame, seed=7)
    ids = pd.concat([s[c.LEAD_ID] for s in split.segments.values()])
    assert ids.is_unique and len(ids) == len(frame)
    rate = frame[c.LABEL].mean()
    for name, fraction in {"train": 0.6, "valid": 0.15, "calibration": 0.1}.items():
        segment = split.segments[name]
        assert len(segment) == pytest.approx(fraction * len(frame), abs=2)
        assert segment[c.LABEL].mean() == pytest.approx(rate, abs=0.01)
    again = split_static(frame, seed=7)
    other = split_static(frame, seed=8)
    assert (
        again.segments["train"][c.LEAD_ID].tolist() == split.segments["train"][c.LEAD_ID].tolist()
    )
    assert (
        other.segments["train"][c.LEAD_ID].tolist() != split.segments["train"][c.LEAD_ID].tolist()
    )


def test_labels_and_exclusions_match_a_brute_force_reading(crm_factory, dataset_factory) -> None:
    leads, events, outcomes = crm_factory(150, seed=21)
    snaps = build_snapshots(dataset_factory(leads, events, outcomes), 30, 90)
    assert len(snaps.labelled) > 300 and snaps.labelled[c.LABEL].sum() > 10
    wins = outcomes.loc[outcomes[c.WON]].groupby(c.LEAD_ID)[c.CLOSED_AT].apply(list).to_dict()
    for lead_id, as_of, label in snaps.labelled.itertuples(index=False):
        closed = wins.get(lead_id, [])
        assert not any(t <= as_of for t in closed)  # already-won leads are excluded
        assert label == int(any(as_of < t <= as_of + 90 * DAY for t in closed))


@pytest.mark.parametrize(
    ("grid", "max_age_days", "repeat_purchase"),
    [("periodic", None, False), ("periodic", 60, False), ("periodic", None, True),
     ("at_creation", None, False)],
)  # fmt: skip
def test_laid_snapshots_match_the_rules_read_one_by_one(grid, max_age_days, repeat_purchase):
    """The compiled grid against the rules applied to each lead in plain Python: every grid
    point from creation (rounded up to a whole second) to the end of observation, minus those
    after a win (unless repeat purchase), observed when the horizon ends by then, labelled by
    a win inside (as_of, as_of + horizon]. Leads before 1970, sub-second creation times and
    deals exactly on grid points included."""
    rng = np.random.default_rng(hash((grid, max_age_days, repeat_purchase)) % 2**32)
    day, second = 86_400 * 10**9, 10**9
    n, first = 300, 5
    created = rng.integers(-400, 700, n) * day + rng.integers(0, day, n)
    created[::7] = created[::7] // second * second  # some at a whole second already
    deals_per_lead = rng.poisson(1.0, first + n + 1)
    owner = np.repeat(np.arange(first + n + 1), deals_per_lead)
    born = np.r_[np.zeros(first, dtype=np.int64), created, 0][owner]
    won_ns = born + rng.integers(-30, 400, owner.size) * day
    won_ns[::5] = won_ns[::5] // (7 * day) * (7 * day)  # exactly on grid points
    won_ns = won_ns[np.lexsort((won_ns, owner))]
    won_offsets = np.r_[0, np.cumsum(deals_per_lead)]
    until = 720 * day + 12_345
    rules = GridRules(grid, 7, 30, max_age_days, repeat_purchase, until)
    laid = lay_snapshots(created, first, won_offsets, won_ns, rules)

    expected, excluded = [], 0
    for i, born_at in enumerate(created.tolist()):
        wins = won_ns[won_offsets[first + i] : won_offsets[first + i + 1]].tolist()
        start = -(-born_at // second) * second
        end = until if max_age_days is None else min(until, born_at + max_age_days * day)
        if grid == "at_creation":
            points = [start] if start <= until else []
        else:
            points = [k * 7 * day for k in range(-(-start // (7 * day)), end // (7 * day) + 1)]
        for as_of in points:
            if not repeat_purchase and any(t <= as_of for t in wins):
                excluded += 1
                continue
            seen = as_of + 30 * day <= until
            label = int(any(as_of < t <= as_of + 30 * day for t in wins)) if seen else None
            expected.append((first + i, as_of, seen, label))
    assert excluded == laid.excluded and (excluded > 0) != repeat_purchase
    got = list(zip(laid.lead.tolist(), laid.as_of_ns.tolist(), laid.observed.tolist(), strict=True))
    assert got == [row[:3] for row in expected]
    assert laid.label.tolist() == [row[3] for row in expected if row[2]]
    assert 0 < laid.label.astype(int).sum() < len(laid.label)
