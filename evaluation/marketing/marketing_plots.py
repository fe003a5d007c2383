"""The marketing page's figures (matplotlib on the Agg canvas, via ``evaluation.plots``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evaluation.marketing.touches import MODELS
from evaluation.plots import new_figure

_MODEL_LABELS = {"first_touch": "first touch", "last_touch": "last touch",
                 "position_based": "position-based 40/20/40"}  # fmt: skip


def attribution_figure(table: pd.DataFrame, dimension: str, stage: str = "sales_ready") -> Figure:
    """Attributed results per campaign (or channel) under the three models, side by side."""
    fig, ax = new_figure()
    rows = table.head(12)
    x = np.arange(len(rows))
    width = 0.27
    for i, model in enumerate(MODELS):
        ax.bar(x + (i - 1) * width, rows[f"{stage}_{model}"], width, label=_MODEL_LABELS[model])
    ax.set_xticks(x, rows[dimension], rotation=40, ha="right", fontsize=8)
    what = "sales-ready leads" if stage == "sales_ready" else "won deals"
    ax.set(ylabel=f"attributed {what}", title=f"Attributed {what} by {dimension}")
    ax.legend(fontsize=8)
    return fig


def touches_figure(histogram: pd.DataFrame) -> Figure:
    """Share of journeys by the number of touches before sales-ready and before a win."""
    fig, ax = new_figure()
    x = np.arange(len(histogram))
    ax.bar(x - 0.2, histogram["share_sales_ready"], 0.4, label="before sales-ready")
    ax.bar(x + 0.2, histogram["share_won"], 0.4, label="before a won deal")
    ax.set_xticks(x, histogram["touches"], fontsize=8)
    ax.set(
        xlabel="touches in the journey", ylabel="share of journeys", title="Touches to conversion"
    )
    ax.legend(fontsize=8)
    return fig


def cohort_figure(stages: pd.DataFrame) -> Figure:
    """Where each monthly cohort of new leads stands now (stacked)."""
    fig, ax = new_figure()
    columns = [c for c in stages.columns if c.startswith("now_")]
    bottom = np.zeros(len(stages))
    x = np.arange(len(stages))
    for column in columns:
        values = stages[column].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, label=column.removeprefix("now_").replace("_", " "))
        bottom += values
    step = max(1, len(stages) // 8)
    ax.set_xticks(x[::step], stages["month"].iloc[::step], rotation=40, ha="right", fontsize=8)
    ax.set(ylabel="leads", title="Monthly cohorts: stage today")
    ax.legend(fontsize=7)
    return fig


def activity_figure(activity: pd.DataFrame) -> Figure:
    """Stage moves per calendar month."""
    fig, ax = new_figure()
    x = np.arange(len(activity))
    for column, label in (
        ("new_leads", "new leads"), ("sales_ready_first", "first sales-ready"),
        ("sales_ready_re_entries", "re-entries"), ("opportunities_opened", "opportunities"),
        ("won_deals", "won deals"),
    ):  # fmt: skip
        ax.plot(x, activity[column], label=label, lw=1.6)
    step = max(1, len(activity) // 8)
    ax.set_xticks(x[::step], activity["month"].iloc[::step], rotation=40, ha="right", fontsize=8)
    ax.set(ylabel="per month", title="Lifecycle month by month")
    ax.legend(fontsize=7)
    return fig


def cost_figure(costs: pd.DataFrame, dimension: str) -> Figure:
    """Cost per sales-ready lead and return on spend per campaign (or channel)."""
    fig, ax = new_figure()
    rows = costs.head(12)
    x = np.arange(len(rows))
    ax.bar(x, rows["cost_per_sales_ready"], color="#4c78a8", label="cost per sales-ready lead")
    ax.set_xticks(x, rows[dimension], rotation=40, ha="right", fontsize=8)
    ax.set(ylabel="cost per sales-ready lead", title=f"Efficiency by {dimension}")
    twin = ax.twinx()
    twin.plot(x, rows["return_on_spend"], "o-", color="#e45756", label="return on spend")
    twin.set_ylabel("revenue / spend")
    lines = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(lines, [h.get_label() for h in lines], fontsize=8)
    return fig
