"""Evaluation figures (matplotlib, Agg backend) and a helper to inline them as data URIs.

Each function takes labels and a name -> scores mapping (model first, then baselines) and
returns a Figure; nothing is drawn or configured at import time.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from evaluation.lift import gains_curve
from evaluation.metrics import check_inputs, reliability_table

FIGSIZE = (5.2, 4.0)
DPI = 110


def new_figure() -> tuple[Figure, Any]:
    """A fresh figure on the Agg canvas (no pyplot state, so safe in servers and threads)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.grid(alpha=0.3)
    return fig, ax


def _style(i: int) -> dict[str, Any]:
    """The first curve (the model) bold; baselines thinner and dashed."""
    return {"lw": 2.4, "zorder": 3} if i == 0 else {"lw": 1.3, "ls": "--", "alpha": 0.85}


def roc_figure(y: Any, scores: Mapping[str, Any]) -> Figure:
    """ROC curves with AUC in the legend, chance line dotted."""
    from sklearn.metrics import roc_auc_score

    fig, ax = new_figure()
    for i, (name, p) in enumerate(scores.items()):
        y_arr, p_arr = check_inputs(y, p, name)
        fpr, tpr, _ = roc_curve(y_arr, p_arr)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y_arr, p_arr):.3f})", **_style(i))
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=1)
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def pr_figure(y: Any, scores: Mapping[str, Any]) -> Figure:
    """Precision-recall curves with the base rate as the no-skill line."""
    from sklearn.metrics import average_precision_score

    fig, ax = new_figure()
    y_base = None
    for i, (name, p) in enumerate(scores.items()):
        y_arr, p_arr = check_inputs(y, p, name)
        y_base = y_arr
        precision, recall, _ = precision_recall_curve(y_arr, p_arr)
        ap = average_precision_score(y_arr, p_arr)
        ax.plot(recall, precision, label=f"{name} (AP {ap:.3f})", **_style(i))
    if y_base is not None:
        ax.axhline(y_base.mean(), ls=":", color="grey", lw=1, label="base rate")
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall", ylim=(0, 1.02))
    ax.legend(loc="upper right", fontsize=8)
    return fig


def gains_figure(y: Any, scores: Mapping[str, Any]) -> Figure:
    """Cumulative gains: share of wins reached when working the top x% of leads."""
    fig, ax = new_figure()
    for i, (name, p) in enumerate(scores.items()):
        curve = gains_curve(y, p)
        ax.plot(100 * curve["share_leads"], 100 * curve["share_wins"], label=name, **_style(i))
    ax.plot([0, 100], [0, 100], ":", color="grey", lw=1, label="random")
    ax.set(xlabel="% of leads contacted (highest score first)", ylabel="% of wins captured",
           title="Cumulative gains")  # fmt: skip
    ax.legend(loc="lower right", fontsize=8)
    return fig


def calibration_figure(y: Any, p: Any, n_bins: int = 10, name: str = "model") -> Figure:
    """Reliability diagram (equal-mass bins) with each bin's lead count written by its point."""
    fig, ax = new_figure()
    table = pd.DataFrame(reliability_table(y, p, n_bins))
    top = float(max(table["mean_predicted"].max(), table["observed_rate"].max(), 1e-3)) * 1.1
    ax.plot([0, top], [0, top], ":", color="grey", lw=1, label="perfect calibration")
    ax.plot(table["mean_predicted"], table["observed_rate"], "o-", lw=2, label=name)
    ax.set(xlabel="Mean predicted probability", ylabel="Observed win rate",
           xlim=(0, top), ylim=(0, top))  # fmt: skip
    # Equal-mass bins hold (nearly) the same number of leads, so one count in the title says it.
    sizes = table["n"]
    count = f"{sizes.min():,}" if sizes.min() == sizes.max() else f"{sizes.min():,}–{sizes.max():,}"
    ax.set_title(f"Calibration ({len(table)} equal-mass bins, {count} leads each)", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def tier_figure(tier_table: pd.DataFrame) -> Figure:
    """Conversion per tier with its Wilson interval, and the lead count under each bar."""
    fig, ax = new_figure()
    x = np.arange(len(tier_table))
    conv = 100 * tier_table["conversion"].fillna(0).to_numpy()
    low = 100 * tier_table["conversion_low"].fillna(0).to_numpy()
    high = 100 * tier_table["conversion_high"].fillna(0).to_numpy()
    # Clipped: a tier without wins has a Wilson bound a rounding error beyond its rate.
    errors = np.clip([conv - low, high - conv], 0.0, None)
    ax.bar(x, conv, color="#2f6db5", yerr=errors, capsize=4)
    labels = [
        f"{t}\n{n:,} leads" for t, n in zip(tier_table["tier"], tier_table["leads"], strict=True)
    ]
    ax.set_xticks(x, labels)
    for xi, value in zip(x, conv, strict=True):
        ax.annotate(f"{value:.1f}%", (xi, value), xytext=(6, 3), textcoords="offset points",
                    fontsize=8)  # fmt: skip
    ax.set(ylabel="Conversion (%)", title="Conversion by tier")
    return fig


def lift_figure(deciles: pd.DataFrame) -> Figure:
    """Lift by score decile, with the no-lift line at 1."""
    fig, ax = new_figure()
    ax.bar(deciles["decile"], deciles["lift"], color="#2f6db5")
    ax.axhline(1.0, ls=":", color="grey", lw=1)
    ax.set_xticks(deciles["decile"])
    ax.set(
        xlabel="Score decile (1 = highest)", ylabel="Lift over base rate", title="Lift by decile"
    )
    return fig


def figure_to_data_uri(fig: Figure) -> str:
    """PNG of the figure as a ``data:image/png;base64,...`` URI for a self-contained page."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def png_to_data_uri(png: bytes) -> str:
    """Already-rendered PNG bytes (e.g. a SHAP beeswarm saved elsewhere) as a data URI."""
    if not png.startswith(b"\x89PNG"):
        raise ValueError("png_to_data_uri: bytes are not a PNG image")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
