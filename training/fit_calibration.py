"""Fit the probability calibrator on the calibration slice (a later slice than training).

Choice: Platt scaling on the booster's log-odds by default ("auto" unless the slice holds at
least ``ISOTONIC_MIN_PER_CLASS`` examples of each class). Platt is strictly monotone, so
ranking metrics and percentile scores are unchanged, and two parameters stay stable on small
calibration slices (Olist has ~100 conversions); isotonic is more flexible but noisy and
creates ties on small slices. The fitted form is plain numbers (see ``models.calibrator``).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

ISOTONIC_MIN_PER_CLASS = 1000


def fit_calibrator(
    raw: np.ndarray, y: np.ndarray, method: Literal["isotonic", "platt", "auto"] = "auto"
) -> dict[str, Any]:
    """Fit a calibrator mapping raw log-odds to P(label=1) on held-out rows."""
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.int8)
    if y.min() == y.max():
        raise ValueError("calibration slice has only one label value: cannot calibrate")
    if method == "auto":
        enough = min(int(y.sum()), int((1 - y).sum())) >= ISOTONIC_MIN_PER_CLASS
        method = "isotonic" if enough else "platt"
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
        return {"method": "platt", "a": float(model.coef_[0, 0]), "b": float(model.intercept_[0])}
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6).fit(raw, y)
    return {
        "method": "isotonic",
        "x": model.X_thresholds_.tolist(),
        "y": model.y_thresholds_.tolist(),
    }
