"""Percentile reference, tiers and the sales-ready threshold, from the calibration slice."""

from __future__ import annotations

from typing import Any

import numpy as np

from training.training_config import TrainingConfig

REFERENCE_POINTS = 1001  # quantiles kept: score resolution far finer than 1 point
MIN_SELECTED = 10  # a precision target must be met by at least this many leads


def reference_distribution(probability: np.ndarray) -> list[float]:
    """Quantiles of the calibrated probabilities of the reference population (sorted)."""
    grid = np.linspace(0.0, 1.0, REFERENCE_POINTS)
    return np.quantile(np.asarray(probability, dtype=np.float64), grid).tolist()


def sales_ready_threshold(
    probability: np.ndarray, y: np.ndarray, config: TrainingConfig
) -> dict[str, Any]:
    """The probability at or above which a lead is sales-ready, and how it was chosen.

    Capacity: the top ``capacity_fraction`` of the reference population. Target precision: the
    lowest threshold whose selected leads (at least ``MIN_SELECTED``) reach the precision —
    i.e. the most leads sales can get at that precision; if no threshold reaches it, the one
    with the best precision is used and ``reached`` is false.
    """
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if config.capacity_fraction is not None:
        threshold = float(np.quantile(p, 1.0 - config.capacity_fraction))
        return {
            "sales_ready": threshold,
            "rule": f"top {config.capacity_fraction:.1%} of the reference population",
            "reached": True,
        }
    target = float(config.target_precision or 1.0)
    order = np.argsort(-p, kind="stable")
    hits = np.cumsum(y[order])
    count = np.arange(1, p.size + 1)
    precision = hits / count
    # Only cut between distinct probabilities, with enough leads selected.
    last_of_value = np.r_[p[order][1:] != p[order][:-1], True]
    valid = last_of_value & (count >= MIN_SELECTED)
    if not valid.any():
        valid = last_of_value
    ok = valid & (precision >= target)
    if ok.any():
        cut = int(np.flatnonzero(ok)[-1])
        reached = True
    else:
        cut = int(np.flatnonzero(valid)[np.argmax(precision[valid])])
        reached = False
    return {
        "sales_ready": float(p[order][cut]),
        "rule": f"target precision {target:.0%} on the calibration slice",
        "precision": float(precision[cut]),
        "reached": reached,
    }


def build_thresholds(
    probability: np.ndarray, y: np.ndarray, config: TrainingConfig
) -> dict[str, Any]:
    """Everything the bundle needs to turn probabilities into tiers and sales-ready flags."""
    return {**sales_ready_threshold(probability, y, config), "tiers": dict(config.tier_cutoffs)}
