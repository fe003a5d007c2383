"""Applying a fitted probability calibrator: plain numbers, so the bundle stays JSON.

Two forms, fitted in ``training.fit_calibration``:
- ``platt``: ``p = sigmoid(a * raw + b)`` on the booster's log-odds (strictly monotone, so
  ranking metrics are unchanged; two parameters are stable on small calibration slices);
- ``isotonic``: a monotone step function (breakpoints ``x`` on log-odds, values ``y``),
  interpolated linearly between breakpoints. Its flat steps would tie every lead inside
  one step and throw away the booster's ranking there (out-of-time ROC-AUC paid for it), so
  ties are broken by the log-odds, moving no probability by more than ``TIE_BREAK``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

TIE_BREAK = 1e-9  # far below any calibration error, far above float64 resolution near 0.5


def apply_calibrator(calibrator: Mapping[str, Any], raw: np.ndarray) -> np.ndarray:
    """Calibrated probabilities for raw log-odds scores."""
    method = calibrator.get("method")
    raw = np.asarray(raw, dtype=np.float64)
    if method == "platt":
        z = calibrator["a"] * raw + calibrator["b"]
        return 1.0 / (1.0 + np.exp(-z))
    if method == "isotonic":
        steps = np.interp(raw, calibrator["x"], calibrator["y"])
        return steps + TIE_BREAK * (np.arctan(raw) / np.pi)
    if method == "none":
        return 1.0 / (1.0 + np.exp(-raw))
    raise ValueError(f"calibrator.method: unknown {method!r} (platt, isotonic, none)")
