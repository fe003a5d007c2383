"""Static rows in time order: earliest rows train, latest are the holdout, a cut never splits
a date; the label rate per segment, and the drift warning only when it moves for real."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from features.trainset.splits import Split, label_drift, split_in_order

FRACTIONS = {"train": 0.6, "valid": 0.15, "calibration": 0.1, "holdout": 0.15}


def _table(labels: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"lead_id": [f"row-{i + 1}" for i in range(len(labels))], "label": labels})


def test_rows_are_cut_in_order() -> None:
    table = _table(np.arange(1000) % 2)
    order = np.arange(1000)[::-1]  # the last row is the earliest
    split = split_in_order(table, order, FRACTIONS)
    assert split.kind == "out of time (rows in file order)"
    assert [len(f) for f in split.segments.values()] == [600, 150, 100, 150]
    assert split.segments["train"]["lead_id"].iloc[0] == "row-1000"
    assert split.segments["holdout"]["lead_id"].iloc[-1] == "row-1"


def test_a_cut_never_splits_a_date() -> None:
    days = pd.Series(
        pd.to_datetime(np.repeat(np.arange(20), 50), unit="D", utc=True), name="signed"
    )
    table = _table(np.arange(1000) % 2)
    split = split_in_order(table, np.arange(1000), FRACTIONS, keys=days)
    assert split.kind == "out of time (by signed)"
    ends = [days[table["lead_id"].isin(f["lead_id"])] for f in split.segments.values()]
    for earlier, later in itertools.pairwise(ends):
        assert earlier.max() < later.min()
    assert split.starts["holdout"] == pd.Timestamp("1970-01-18", tz="UTC")
    one_day = pd.Series(pd.to_datetime(np.minimum(np.arange(1000) // 900, 1), unit="D", utc=True))
    with pytest.raises(ValueError, match=r"segment\(s\) \['valid', 'calibration'\] empty"):
        split_in_order(table, np.arange(1000), FRACTIONS, keys=one_day.rename("signed"))


def _split(train_rate: float, holdout_rate: float, n: int = 2000) -> Split:
    rng = np.random.default_rng(0)
    parts = {
        "train": _table((rng.random(n) < train_rate).astype(int)),
        "holdout": _table((rng.random(n // 4) < holdout_rate).astype(int)),
    }
    return Split(parts)


def test_drift_warning_when_the_label_rate_moves() -> None:
    warning = label_drift(_split(0.10, 0.30))
    assert warning is not None and warning.startswith("the label rate drifts: ")
    assert label_drift(_split(0.20, 0.21)) is None  # same rate
    assert label_drift(_split(0.20, 0.26)) is None  # 1.3x: within the ratio
    assert label_drift(_split(0.10, 0.30, n=40)) is None  # too few rows to tell
