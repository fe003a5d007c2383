"""Report tables as display strings and HTML: counts with separators, rates as percentages,
confidence intervals inside their cell, NaN as a dash."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

_COUNT_COLUMNS = {"leads", "wins", "n", "n_pos", "entered", "converted", "decile", "bin"}
_RATE_COLUMNS = {
    "conversion", "share_leads", "share_wins", "cum_share_wins", "cum_share_leads", "recall",
    "lead_share", "loss_rate", "base_rate", "share", "top_tier_conversion",
}  # fmt: skip
_MONEY_COLUMNS = {"revenue_won"}
_DAYS_COLUMNS = {"median_days"}
_SCORE_COLUMNS = {"min_score", "mean_score"}  # probabilities near 0: significant digits
_HEADERS = {
    "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "ece": "ECE", "brier": "Brier",
    "top_decile_lift": "top-decile lift", "top_tier_conversion": "A-tier conversion",
    "share_leads": "% of leads", "share_wins": "% of wins", "cum_share_wins": "cum. % of wins",
    "cum_share_leads": "cum. % of leads", "lead_share": "% of leads", "median_days": "median days",
    "reference_auc_gain": "model's ROC-AUC gain [95% CI]",
}  # fmt: skip
DASH = "–"
_GAIN_BOUNDS = ("reference_auc_gain_low", "reference_auc_gain_high")


def _format_value(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, int | np.integer) or column in _COUNT_COLUMNS:
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if column in _RATE_COLUMNS:
            return f"{100 * value:.1f}%"
        if column in _MONEY_COLUMNS:
            return f"{value:,.0f}"
        if column in _DAYS_COLUMNS:
            return f"{value:.1f}"
        if column in _SCORE_COLUMNS:
            return f"{value:.3g}"
        return f"{value:.3f}"
    return str(value)


def format_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Display strings for a table: counts with separators, rates as %, a conversion CI merged
    into the conversion cell ("12.3% [10.1–14.6%]"), NaN as a dash."""
    shown = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column in {"conversion_low", "conversion_high", *_GAIN_BOUNDS}:
            continue
        shown[column] = [_format_value(column, v) for v in frame[column].astype(object)]
    if {"conversion", "conversion_low", "conversion_high"} <= set(frame.columns):
        lows = [_format_value("conversion", v) for v in frame["conversion_low"].astype(object)]
        highs = [_format_value("conversion", v) for v in frame["conversion_high"].astype(object)]
        shown["conversion"] = [
            f"{c} <span class=ci>[{lo}–{hi}]</span>" if c != DASH else c
            for c, lo, hi in zip(shown["conversion"], lows, highs, strict=True)
        ]
    if {"reference_auc_gain", *_GAIN_BOUNDS} <= set(frame.columns):
        shown["reference_auc_gain"] = [
            DASH if g != g else f"{g:+.3f} <span class=ci>[{lo:+.3f} to {hi:+.3f}]</span>"
            for g, lo, hi in frame[["reference_auc_gain", *_GAIN_BOUNDS]].itertuples(index=False)
        ]
    return shown


def html_table(frame: pd.DataFrame, highlight_first: bool = False) -> str:
    shown = format_table(frame)
    text = {c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c].dtype)}
    head = "".join(
        f"<th{' class=t' if c in text else ''}>"
        f"{html.escape(_HEADERS.get(str(c), str(c).replace('_', ' ')))}</th>"
        for c in shown.columns
    )
    body = []
    for i, row in enumerate(shown.itertuples(index=False)):
        cls = " class=hl" if highlight_first and i == 0 else ""
        if "small" in frame.columns and bool(frame["small"].iloc[i]):
            cls = " class=small"
        cells = "".join(
            f"<td{' class=t' if col in text else ''}>"
            f"{cell if '<span' in cell else html.escape(cell)}</td>"
            for col, cell in zip(shown.columns, row, strict=True)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
