"""Metrics by slice (lead source, region, segment, ...), with small slices flagged, not hidden."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from evaluation.metrics import check_inputs, wilson_interval

MISSING_LABEL = "(missing)"


def slice_metrics(
    frame: pd.DataFrame,
    y: Any,
    p: Any,
    columns: Sequence[str],
    *,
    min_class_count: int = 10,
    min_leads: int = 100,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per (column, value): leads, wins, conversion with Wilson CI, mean score, and AUC
    when the slice has at least ``min_class_count`` wins and losses (else NaN).

    ``small`` marks slices with fewer than ``min_leads`` leads or too few of either class, whose
    numbers should be read with their interval. Missing values form their own slice.
    """
    y_arr, p_arr = check_inputs(y, p)
    if len(frame) != y_arr.size:
        raise ValueError(f"slice frame ({len(frame)}) and labels ({y_arr.size}) differ in length")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"slice column(s) not in the table: {missing}; have {list(frame.columns)}")
    rows = []
    for column in columns:
        values = frame[column].astype(object).where(frame[column].notna(), MISSING_LABEL)
        keys = values.astype(str).to_numpy()
        uniques, inverse = np.unique(keys, return_inverse=True)
        leads = np.bincount(inverse, minlength=uniques.size)
        wins = np.bincount(inverse, weights=y_arr, minlength=uniques.size)
        score = np.bincount(inverse, weights=p_arr, minlength=uniques.size) / leads
        low, high = wilson_interval(wins, leads, confidence)
        for i, value in enumerate(uniques):
            n_pos, n_neg = int(wins[i]), int(leads[i] - wins[i])
            enough = min(n_pos, n_neg) >= min_class_count
            mask = inverse == i
            rows.append(
                {
                    "column": column,
                    "value": value,
                    "leads": int(leads[i]),
                    "wins": n_pos,
                    "conversion": n_pos / leads[i],
                    "conversion_low": float(low[i]),
                    "conversion_high": float(high[i]),
                    "mean_score": float(score[i]),
                    "roc_auc": float(roc_auc_score(y_arr[mask], p_arr[mask]))
                    if enough
                    else float("nan"),
                    "small": bool(leads[i] < min_leads or not enough),
                }
            )
    return pd.DataFrame(rows).sort_values(
        ["column", "leads"], ascending=[True, False], ignore_index=True
    )
