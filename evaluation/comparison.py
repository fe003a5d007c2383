"""Models side by side on the same holdout: ranking, probability quality and tier metrics per
model, and the reference model's ROC-AUC gain over each other one with a paired bootstrap
interval, so "is the model really better?" has an honest answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from evaluation.lift import top_decile_lift
from evaluation.metrics import (
    bootstrap_auc_difference,
    check_inputs,
    classification_metrics,
    is_probability,
)


def compare_models(
    y: Any,
    scores: Mapping[str, Any],
    tiers: Mapping[str, Any] | None = None,
    top_tier: str = "A",
    reference: str | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per model: ROC-AUC, PR-AUC, top-decile lift, A-tier conversion (where tiers are
    given for that model), and Brier / log loss / ECE where the scores are probabilities.
    With ``reference`` (the model), every other row also gets ``reference_auc_gain``: the
    reference's ROC-AUC minus this row's, with a paired 95% bootstrap interval
    (``..._low``/``..._high``), so "is the model really better?" has an honest answer.

    ``scores`` maps a name to its scores on the same rows — the model, each baseline and, on
    simulated data, the oracle's true propensity.
    """
    if reference is not None and reference not in scores:
        raise KeyError(f"reference {reference!r} not among scores {list(scores)}")
    rows = []
    for name, p in scores.items():
        y_arr, p_arr = check_inputs(y, p, name=f"scores[{name!r}]")
        m = classification_metrics(y_arr, p_arr)
        row: dict[str, Any] = {
            "model": name,
            "roc_auc": m["roc_auc"],
            "pr_auc": m["pr_auc"],
            "top_decile_lift": top_decile_lift(y_arr, p_arr),
            "brier": m["brier"],
            "log_loss": m["log_loss"],
            "ece": m["ece"],
            "probabilities": is_probability(p_arr),
            "top_tier_conversion": float("nan"),
        }
        if tiers is not None and name in tiers:
            tier_arr = np.asarray(tiers[name], dtype=object)
            if tier_arr.size != y_arr.size:
                raise ValueError(f"tiers[{name!r}] ({tier_arr.size}) and labels differ in length")
            chosen = tier_arr == top_tier
            if chosen.any():
                row["top_tier_conversion"] = float(y_arr[chosen].mean())
        if reference is not None and name != reference:
            gain = bootstrap_auc_difference(y_arr, scores[reference], p_arr, seed=seed)
            row.update(zip(_GAIN_COLUMNS, gain, strict=True))
        rows.append(row)
    return pd.DataFrame(rows)


_GAIN_COLUMNS = ("reference_auc_gain", "reference_auc_gain_low", "reference_auc_gain_high")
