"""Backtests: no training label crosses its cut-off; served scores are labelled by the deals
that closed in exactly (as_of, as_of + horizon]."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.backtest import (
    label_served_scores,
    rolling_origin_backtest,
    served_score_backtest,
)

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _table(n_dates: int = 20, per_date: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_dates * per_date
    signal = rng.normal(size=n)
    return pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "as_of": T0 + np.repeat(np.arange(n_dates), per_date) * 30 * DAY,
            "signal": signal,
            "label": (rng.random(n) < 1 / (1 + np.exp(-(signal * 2 - 1.5)))).astype(int),
        }
    )


def test_rolling_origin_never_trains_across_its_cutoff() -> None:
    table = _table()
    seen = []

    def fit_predict(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
        seen.append((train["as_of"].max(), test["as_of"].min(), test["as_of"].max()))
        return {"signal": test["signal"].to_numpy(), "noise": np.zeros(len(test))}

    result = rolling_origin_backtest(table, 90, fit_predict, n_cutoffs=4)
    cutoffs = sorted(result["cutoff"].unique())
    assert len(cutoffs) == 4 and len(seen) == 4
    for cutoff, (train_max, test_min, _) in zip(cutoffs, seen, strict=True):
        assert train_max + 90 * DAY <= cutoff <= test_min
    for later, (_, _, test_max) in zip(cutoffs[1:], seen[:-1], strict=True):
        assert test_max < later  # test periods do not overlap
    by_model = result.groupby("model")["roc_auc"].mean()
    assert by_model["signal"] > 0.7 and by_model["noise"] == pytest.approx(0.5)


def test_served_scores_are_labelled_by_the_window_only() -> None:
    as_of = T0
    log = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d"],
            "as_of": [as_of] * 3 + [as_of + 200 * DAY],
            "scored_at": [as_of] * 4,
            "model_version": ["3"] * 4,
            "probability": [0.9, 0.5, 0.1, 0.3],
            "tier": ["A", "B", "D", "C"],
        }
    )
    outcomes = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            # a: exactly at the horizon (counts); b: exactly at as_of (does not); c: lost.
            "closed_at": [as_of + 90 * DAY, as_of, as_of + 10 * DAY],
            "won": [True, True, False],
            "amount": [1000.0, 500.0, np.nan],
        }
    )
    labelled = label_served_scores(log, outcomes, 90, observed_until=as_of + 100 * DAY)
    # d's window is not fully observed yet: left out, not counted as a loss.
    assert labelled["lead_id"].tolist() == ["a", "b", "c"]
    assert labelled["label"].tolist() == [1, 0, 0]
    assert labelled["amount"].tolist() == [1000.0, 0.0, 0.0]
    moved = outcomes.assign(closed_at=outcomes["closed_at"] + pd.Timedelta(seconds=1))
    assert label_served_scores(log, moved, 90, as_of + 100 * DAY)["label"].tolist() == [0, 1, 0]
    tables = served_score_backtest(log, outcomes, 90, as_of + 100 * DAY)
    assert tables["metrics"]["roc_auc"] == 1.0
    assert tables["tiers"].set_index("tier").loc["A", "revenue_won"] == 1000.0
