"""Choosing the booster's shape and length on the development periods only (train + valid),
the way it will be used: trained on the past, scored on a later period.

Why: one early-stopping slice from one period picks the rounds that suit that period, and a
model fit on the oldest 60 % of history then serves a world that has moved on. Here each
candidate parameter set is scored on several later periods of the development rows
(rolling origin: each fold trains on the snapshots whose label window closed before the
fold starts, validates on the fold), the candidate and the number of rounds with the best
mean ROC-AUC over the folds win, and the final booster is fit on all development rows,
the most recent included. The calibration and holdout slices are never seen.

Static tables (no as_of) have one fold: train -> valid, as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.batch.grouping import AS_OF
from features.ingest import contracts as c
from features.time_rule import DAY_NS
from training.lightgbm_model import booster_params
from training.training_config import TrainingConfig


@dataclass(frozen=True)
class Choice:
    """The parameters and rounds chosen, and each candidate's validation curve summary."""

    params: dict[str, Any]
    rounds: int
    valid_auc: float
    folds: int
    candidates: list[dict[str, Any]] = field(default_factory=list)


def rolling_folds(
    development: pd.DataFrame, horizon_days: int, n_folds: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, validation rows) per fold: the later half of the as_of dates cut into
    ``n_folds`` periods; each fold trains on rows whose label window closed before its
    start. Folds without both labels on either side are dropped."""
    as_of = development[AS_OF].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    y = development[c.LABEL].to_numpy()
    dates = np.unique(as_of)
    if dates.size < n_folds + 2:
        return []
    starts = [
        dates[i] for i in np.linspace(dates.size // 2, dates.size, n_folds + 1).astype(int)[:-1]
    ]
    folds = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else np.iinfo(np.int64).max
        train = np.flatnonzero(as_of + horizon_days * DAY_NS <= start)
        valid = np.flatnonzero((as_of >= start) & (as_of < end))
        if _both_labels(y[train]) and _both_labels(y[valid]):
            folds.append((train, valid))
    return folds


def choose_by_validation(
    folds: Sequence[tuple[pd.DataFrame, pd.DataFrame, np.ndarray | None]],
    features: Sequence[str],
    categorical: Sequence[str],
    candidates: Sequence[Mapping[str, Any]],
    config: TrainingConfig,
    seed: int,
) -> Choice:
    """Each candidate (overrides of ``config.lgbm_params``) trained on every fold's
    (train, valid, train weights); the best mean validation ROC-AUC over rounds wins."""
    import lightgbm as lgb

    from models.encoding import encode_frame, fit_categories

    features = list(features)
    categorical = [name for name in categorical if name in features]
    best: Choice | None = None
    summaries = []
    for overrides in candidates or [{}]:
        params = {**config.lgbm_params, **overrides}
        full = {**booster_params(params, seed, config.num_threads), "metric": "auc"}
        curves = []
        for train, valid, weight in folds:
            categories = fit_categories(train, categorical)
            dtrain = lgb.Dataset(
                encode_frame(train, features, categories),
                label=train[c.LABEL].to_numpy(dtype=np.float64), weight=weight,
                feature_name=features, categorical_feature=[features.index(n) for n in categorical],
                free_raw_data=True, params={"verbosity": -1},
            )  # fmt: skip
            dvalid = lgb.Dataset(
                encode_frame(valid, features, categories),
                label=valid[c.LABEL].to_numpy(dtype=np.float64), reference=dtrain,
            )  # fmt: skip
            record: dict[str, Any] = {}
            lgb.train(
                full, dtrain, num_boost_round=config.num_boost_round, valid_sets=[dvalid],
                valid_names=["valid"],
                callbacks=[
                    lgb.record_evaluation(record),
                    lgb.early_stopping(config.early_stopping_rounds, verbose=False),
                ],
            )  # fmt: skip
            curves.append(np.asarray(record["valid"]["auc"]))
        length = max(len(curve) for curve in curves)
        # A fold that stopped early keeps its last value (it would not have improved).
        mean = np.mean([np.pad(cv, (0, length - len(cv)), mode="edge") for cv in curves], axis=0)
        rounds, auc = int(np.argmax(mean)) + 1, float(mean.max())
        summaries.append({"params": dict(overrides), "rounds": rounds, "valid_auc": auc})
        if best is None or auc > best.valid_auc:
            best = Choice(params, rounds, auc, len(curves))
    assert best is not None
    return Choice(best.params, best.rounds, best.valid_auc, best.folds, summaries)


def _both_labels(y: np.ndarray) -> bool:
    return y.size > 0 and bool(np.ptp(y) > 0)
