"""Reasons in probability points: how much each reason moved the lead's calibrated probability.

TreeSHAP explains the booster's log-odds: ``raw = bias + Σ_g φ_g`` over the reason groups g,
``bias`` being the mean log-odds over the training data. A salesperson reads probabilities,
so every reason also gets points (percentage points of probability). What is attributed:

- **endpoint**: the lead's *calibrated* probability ``p = calibrate(raw)``, the number served
  and shown;
- **base**: ``p0 = calibrate(bias)``, the probability of a *typical lead*, one whose every
  reason sits at the training data's average. (It is not the mean served probability: the
  gap between ``calibrate(mean log-odds)`` and ``mean(calibrate(log-odds))`` belongs to no
  reason, so it is not attributed.)
- **attribution**: proportional to log-odds, with one slope per lead,
  ``points_g = 100 · φ_g · (p − p0) / Σ_h φ_h``. The points of all groups sum to
  ``100 · (p − p0)`` exactly (up to float rounding, tested); a reason keeps its sign (the
  calibrator is monotone); a reason twice as strong in log-odds gets twice the points; and no
  order is involved. The alternative, walking the sigmoid through the contributions in some
  order, gives the same fact different points depending on which reasons were placed before
  it. When ``Σ φ`` is ~0 the slope is the calibrator's derivative at the base (its limit).

A reason's points depend on the lead's other reasons through the slope: the same demo request
is worth more points to a lead near 50 % than to one near 1 %, which is how probabilities
behave.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.calibrator import apply_calibrator

_FLAT = 1e-9  # |Σ φ| below this: use the derivative (the secant's limit)
_STEP = 1e-6  # finite-difference step on log-odds for the derivative


def probability_points(
    impacts: np.ndarray, raw: np.ndarray, bias: np.ndarray, calibrator: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points per reason group, the lead's probability, the base probability and the slope.

    ``impacts`` is (rows, groups) in log-odds, ``raw`` (rows,) the booster's log-odds and
    ``bias`` (rows,) the SHAP base value. Returns ``(points (rows, groups), probability
    (rows,), base_probability (rows,), slope (rows,))``: ``points = impacts * slope[:, None]``
    and ``points.sum(axis=1) == 100 * (probability - base_probability)``.
    """
    impacts = np.asarray(impacts, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    total = impacts.sum(axis=1)
    probability = apply_calibrator(calibrator, raw)
    base = apply_calibrator(calibrator, bias)
    flat = np.abs(total) < _FLAT
    slope = np.empty_like(total)
    slope[~flat] = (probability[~flat] - base[~flat]) / total[~flat]
    if flat.any():
        at = bias[flat]
        upper = apply_calibrator(calibrator, at + _STEP)
        lower = apply_calibrator(calibrator, at - _STEP)
        slope[flat] = (upper - lower) / (2 * _STEP)
    slope *= 100.0  # points are percentage points
    return impacts * slope[:, None], probability, base, slope
