"""Applying a fitted probability calibrator: plain numbers, so the bundle stays JSON.

Two forms, fitted in ``training.fit_calibration``:
- ``platt``: ``p = sigmoid(a * raw + b)`` on the booster's log-odds (strictly monotone, so
  ranking metrics are unchanged; two parameters are stable on small calibration slices);
- ``isotonic``: a monotone step function (breakpoints ``x`` on log-odds, values ``y``),
  interpolated linearly between breakpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def apply_calibrator(calibrator: Mapping[str, Any], raw: np.ndarray) -> np.ndarray:
    """Calibrated probabilities for raw log-odds scores."""
    method = calibrator.get("method")
    raw = np.asarray(raw, dtype=np.float64)
    if method == "platt":
        z = calibrator["a"] * raw + calibrator["b"]
        return 1.0 / (1.0 + np.exp(-z))
    if method == "isotonic":
        return np.interp(raw, calibrator["x"], calibrator["y"])
    if method == "none":
        return 1.0 / (1.0 + np.exp(-raw))
    raise ValueError(f"calibrator.method: unknown {method!r} (platt, isotonic, none)")
