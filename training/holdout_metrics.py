"""Holdout metrics computed with sklearn (training must not import ``evaluation``)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score


def holdout_metrics(y: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), log loss, Brier score, base rate and row count."""
    y = np.asarray(y, dtype=np.int8)
    p = np.clip(np.asarray(probability, dtype=np.float64), 1e-12, 1 - 1e-12)
    if y.min() == y.max():
        raise ValueError("holdout has only one label value: metrics are undefined")
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "base_rate": float(y.mean()),
        "rows": float(y.size),
    }
