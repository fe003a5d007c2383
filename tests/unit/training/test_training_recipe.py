"""The recipe's parts: rolling-origin folds never train on a label window that crosses the
fold's start; time-like features are found on the later period; intent is monotone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.spec import FeatureParams, build_feature_spec
from training.drift_guards import monotone_constraints, time_like_features
from training.rolling_validation import rolling_folds


def test_rolling_folds_purge_label_windows_and_move_forward() -> None:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=20, freq="30D", tz="UTC")
    frame = pd.DataFrame(
        {"as_of": np.repeat(dates, 50), "label": (rng.random(1000) < 0.2).astype(int)}
    )
    folds = rolling_folds(frame, horizon_days=90, n_folds=3)
    assert len(folds) == 3
    starts = []
    for train, valid in folds:
        start = frame["as_of"].iloc[valid].min()
        assert (frame["as_of"].iloc[train] + pd.Timedelta(days=90) <= start).all()
        starts.append(start)
    assert starts == sorted(starts) and starts[0] >= dates[10]


def test_time_like_features_are_the_ones_the_later_period_leaves_behind() -> None:
    spec = build_feature_spec(
        [("lead_number", "numeric", "Lead number"), ("visits", "numeric", "Visits")],
        static=True,
    )
    train = pd.DataFrame({"lead_number": np.arange(100.0), "visits": np.arange(100.0) % 7})
    later = pd.DataFrame({"lead_number": np.arange(100.0, 130.0), "visits": np.arange(30.0) % 9})
    assert time_like_features(train, later, spec, ["lead_number", "visits"]) == ["lead_number"]


def test_monotone_directions() -> None:
    spec = build_feature_spec([], (), FeatureParams())
    names = ["n_demo_request_7d", "decay_pricing_page_view", "intent_form_submit_30d",
             "n_unsubscribe_30d", "decay_web_visit", "days_since_demo_request"]  # fmt: skip
    assert monotone_constraints(spec, names) == [1, 1, 1, -1, 0, 0]
