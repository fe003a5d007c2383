"""Ranking and calibration metrics on a holdout, plus confidence intervals for small samples.

Everything takes plain arrays (labels 0/1, probabilities in [0, 1]) so the same functions score
the model, the baselines, the oracle and the scores that were served.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

DEFAULT_ECE_BINS = 10
_EPS = 1e-15


def check_inputs(y: Any, p: Any, name: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores as aligned 1-D arrays; raise naming the bad rows instead of guessing."""
    y_arr = np.asarray(y, dtype=float).ravel()
    p_arr = np.asarray(p, dtype=float).ravel()
    if y_arr.shape != p_arr.shape:
        raise ValueError(f"labels ({y_arr.size}) and {name} ({p_arr.size}) differ in length")
    bad_y = np.flatnonzero(~np.isin(y_arr, (0.0, 1.0)))
    if bad_y.size:
        raise ValueError(
            f"labels must be 0/1: {bad_y.size} row(s) are not, e.g. rows {bad_y[:5].tolist()} "
            f"= {y_arr[bad_y[:5]].tolist()}"
        )
    bad_p = np.flatnonzero(~np.isfinite(p_arr))
    if bad_p.size:
        raise ValueError(
            f"{name} must be finite: {bad_p.size} row(s) are not, e.g. rows {bad_p[:5].tolist()}"
        )
    return y_arr.astype(np.int8), p_arr


def is_probability(p: np.ndarray) -> bool:
    """True when scores can be read as probabilities (so log loss / Brier / ECE make sense)."""
    return bool(p.size) and float(p.min()) >= 0.0 and float(p.max()) <= 1.0


def expected_calibration_error(y: Any, p: Any, n_bins: int = DEFAULT_ECE_BINS) -> float:
    """ECE with equal-mass bins: sort by p, split into ``n_bins`` groups of (nearly) equal size,
    and average |mean(p) - mean(y)| weighted by group size.

    Equal-mass rather than equal-width because lead-scoring probabilities pile up near zero:
    equal-width bins would leave most bins empty and put almost every lead in the first one.
    """
    y_arr, p_arr = check_inputs(y, p)
    if y_arr.size == 0:
        return float("nan")
    order = np.argsort(p_arr, kind="stable")
    groups = np.array_split(order, min(n_bins, y_arr.size))
    gaps = [abs(p_arr[g].mean() - y_arr[g].mean()) * g.size for g in groups if g.size]
    return float(np.sum(gaps) / y_arr.size)


def reliability_table(y: Any, p: Any, n_bins: int = DEFAULT_ECE_BINS) -> list[dict[str, float]]:
    """Equal-mass bins with count, mean predicted and observed rate: the reliability diagram."""
    y_arr, p_arr = check_inputs(y, p)
    order = np.argsort(p_arr, kind="stable")
    rows = []
    for i, g in enumerate(np.array_split(order, min(n_bins, max(y_arr.size, 1)))):
        if g.size:
            rows.append(
                {
                    "bin": i + 1,
                    "n": int(g.size),
                    "mean_predicted": float(p_arr[g].mean()),
                    "observed_rate": float(y_arr[g].mean()),
                }
            )
    return rows


def classification_metrics(y: Any, p: Any, n_bins: int = DEFAULT_ECE_BINS) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), log loss, Brier, ECE, base rate and counts.

    AUCs are NaN when only one class is present; the probability metrics are NaN when the
    scores are not in [0, 1] (e.g. raw rule points), rather than silently clipped.
    """
    y_arr, p_arr = check_inputs(y, p)
    n, n_pos = int(y_arr.size), int(y_arr.sum())
    both = 0 < n_pos < n
    prob = is_probability(p_arr)
    nan = float("nan")
    return {
        "n": n,
        "n_pos": n_pos,
        "base_rate": n_pos / n if n else nan,
        "roc_auc": float(roc_auc_score(y_arr, p_arr)) if both else nan,
        "pr_auc": float(average_precision_score(y_arr, p_arr)) if both else nan,
        "log_loss": float(log_loss(y_arr, np.clip(p_arr, _EPS, 1 - _EPS), labels=[0, 1]))
        if prob and n
        else nan,
        "brier": float(brier_score_loss(y_arr, p_arr)) if prob and n else nan,
        "ece": expected_calibration_error(y_arr, p_arr, n_bins) if prob and n else nan,
    }


def wilson_interval(successes: Any, n: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval for a proportion; vectorised; (nan, nan) where n == 0.

    Wilson rather than the normal approximation because tiers and slices often have few wins,
    where the normal interval collapses to zero width or leaves [0, 1].
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        phat = k / m
        denom = 1 + z**2 / m
        centre = (phat + z**2 / (2 * m)) / denom
        half = z * np.sqrt(phat * (1 - phat) / m + z**2 / (4 * m**2)) / denom
        low = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def bootstrap_ci(
    y: Any,
    p: Any,
    metric: str = "roc_auc",
    *,
    n_boot: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of one ``classification_metrics`` key (resampling rows).

    Resamples with only one class are skipped (their AUC is undefined).
    """
    y_arr, p_arr = check_inputs(y, p)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, y_arr.size, y_arr.size)
        value = classification_metrics(y_arr[idx], p_arr[idx])[metric]
        if np.isfinite(value):
            values.append(value)
    if not values:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def bootstrap_auc_difference(
    y: Any,
    p_a: Any,
    p_b: Any,
    *,
    n_boot: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """ROC-AUC of ``p_a`` minus that of ``p_b`` on the same rows, with a paired percentile
    bootstrap interval: both scores are judged on the same resamples, so the interval reflects
    the difference between them, not each model's own noise. An interval that contains 0 means
    the holdout cannot tell the two apart.

    Each resample is a vector of row weights, and the weighted Mann-Whitney AUC of a score
    sorted once needs no re-sort per resample (500 resamples of 50k rows: about a second).
    """
    y_arr, a = check_inputs(y, p_a, name="p_a")
    _, b = check_inputs(y, p_b, name="p_b")
    if y_arr.min() == y_arr.max():
        return float("nan"), float("nan"), float("nan")
    point = float(roc_auc_score(y_arr, a) - roc_auc_score(y_arr, b))
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    n, deltas = y_arr.size, []
    for start in range(0, n_boot, 50):  # 50 resamples at a time bounds the memory
        weights = np.stack(
            [
                np.bincount(rng.integers(0, n, n), minlength=n)
                for _ in range(min(50, n_boot - start))
            ]
        ).astype(np.float64)
        deltas.append(_weighted_auc(y_arr, a, weights) - _weighted_auc(y_arr, b, weights))
    finite = np.concatenate(deltas)
    finite = finite[np.isfinite(finite)]
    alpha = (1 - confidence) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return point, float(low), float(high)


def _weighted_auc(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC per row of ``weights`` (resamples x rows); tied scores count one half."""
    order = np.argsort(p, kind="stable")
    sorted_p, positive = p[order], y[order] == 1
    w = weights[:, order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])  # tie groups
    group = np.cumsum(np.r_[True, sorted_p[1:] != sorted_p[:-1]]) - 1
    negatives = np.add.reduceat(np.where(positive, 0.0, w), starts, axis=1)
    below = np.cumsum(negatives, axis=1) - negatives  # negatives in lower-scored groups
    credit = (below + 0.5 * negatives)[:, group[positive]]
    w_pos = w[:, positive]
    with np.errstate(divide="ignore", invalid="ignore"):
        return (w_pos * credit).sum(axis=1) / (w_pos.sum(axis=1) * negatives.sum(axis=1))
