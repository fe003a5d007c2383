"""What one feature alone says about the label, on the training slice: the statistics behind
the leakage audit's single-feature checks (``training.leakage``).

- **single-feature ROC-AUC**, on all rows and on the rows where the feature is populated (a
  sales-filled field is often blank for half the leads, which hides how perfectly it separates
  where it is filled in: X Education's ``Tags`` scores 0.92 on all rows but 0.97 where
  populated). Numeric: the raw values (missing ranked as their own lowest value), AUC folded to
  ``max(auc, 1 - auc)`` so inverted leaks count too. Categorical: out-of-fold target-rate
  encoding (missing is a category on all rows), so a high-cardinality column cannot score by
  memorising its rows.
- **populated shares**: the share of converters and of the others for which the feature is
  non-missing (numeric: also non-zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.spec import Feature

_FOLDS = 5
_PRIOR_WEIGHT = 20.0  # smoothing of target-rate encoding towards the overall rate
_MIN_POPULATED_PER_CLASS = 30  # populated-only AUC needs this many rows of each class


@dataclass(frozen=True)
class SingleFeatureStats:
    """One feature on its own against the label."""

    auc: float
    auc_populated: float
    populated: float  # share of rows where it is populated
    converter_share: float
    non_converter_share: float


def single_feature_stats(
    feature: Feature, values: pd.Series, y: np.ndarray, folds: np.ndarray
) -> SingleFeatureStats:
    """The statistics of the module docstring for one feature (``folds``: a fold number per
    row, for the out-of-fold encoding of categories)."""
    if feature.kind == "categorical":
        score = _oof_target_rate(values, y, folds)
        populated = values.notna().to_numpy()
        # Missing is its own category above; among populated rows re-encode without it.
        score_pop = _oof_target_rate(values[populated], y[populated], folds[populated])
    else:
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        missing = np.isnan(numbers)
        floor = np.nanmin(numbers) - 1.0 if (~missing).any() else 0.0
        score = np.where(missing, floor, numbers)
        populated = ~missing & (numbers != 0)
        score_pop = numbers[populated]
    y_pop = y[populated]
    enough = min(int(y_pop.sum()), int((1 - y_pop).sum())) >= _MIN_POPULATED_PER_CLASS
    return SingleFeatureStats(
        auc=folded_auc(y, score),
        auc_populated=folded_auc(y_pop, score_pop) if enough else 0.5,
        populated=float(populated.mean()),
        converter_share=float(populated[y == 1].mean()),
        non_converter_share=float(populated[y == 0].mean()),
    )


def fold_numbers(n: int, seed: int) -> np.ndarray:
    """A fold number per row, seeded."""
    return np.random.default_rng(np.random.SeedSequence(seed)).integers(0, _FOLDS, size=n)


def folded_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC folded to >= 0.5 (an inverted leak is still a leak); 0.5 when undefined."""
    if len(y) == 0 or y.min() == y.max() or np.ptp(score) == 0:
        return 0.5
    auc = float(roc_auc_score(y, score))
    return max(auc, 1.0 - auc)


def _oof_target_rate(values: pd.Series, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold smoothed conversion rate of each row's category (missing = a category)."""
    codes, _ = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    prior = float(y.mean())
    encoded = np.empty(len(y), dtype=np.float64)
    for fold in range(_FOLDS):
        inside = folds == fold
        fit = ~inside
        count = np.bincount(codes[fit], minlength=n_codes)
        wins = np.bincount(codes[fit], weights=y[fit], minlength=n_codes)
        rate = (wins + _PRIOR_WEIGHT * prior) / (count + _PRIOR_WEIGHT)
        encoded[inside] = rate[codes[inside]]
    return encoded
