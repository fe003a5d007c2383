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
    "share_sales_ready", "share_won", "share_without_touch", "sales_ready_within_90d",
    "sales_ready_loss_rate", "opportunity_loss_rate",
}  # fmt: skip
_MONEY_COLUMNS = {
    "revenue_won", "revenue_first_touch", "revenue_last_touch", "revenue_position_based",
    "spend", "revenue",
}  # fmt: skip
_UNIT_COST_COLUMNS = {
    "cost_per_lead_touched", "cost_per_sales_ready", "cost_per_won_deal", "spend_per_sales_ready",
}  # fmt: skip
_DAYS_COLUMNS = {
    "median_days", "median_days_to_sales_ready", "median_days_to_won", "days_to_sales_ready",
    "days_sales_ready_to_opportunity", "days_opportunity_to_close",
}  # fmt: skip
_TIMES_COLUMNS = {"return_on_spend"}  # a multiple: revenue / spend
_TENTHS_COLUMNS = {  # attributed (fractional) results, touch counts' statistics
    "sales_ready_first_touch", "sales_ready_last_touch", "sales_ready_position_based",
    "won_first_touch", "won_last_touch", "won_position_based", "sales_ready", "won_deals",
    "sales_ready_per_1k_touches", "mean_touches", "p25", "median", "p75", "p90", "mean_sends",
    "mean_responses",
}  # fmt: skip
_SCORE_COLUMNS = {"min_score", "mean_score"}  # probabilities near 0: significant digits
_HEADERS = {
    "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "ece": "ECE", "brier": "Brier",
    "top_decile_lift": "top-decile lift", "top_tier_conversion": "A-tier conversion",
    "share_leads": "% of leads", "share_wins": "% of wins", "cum_share_wins": "cum. % of wins",
    "cum_share_leads": "cum. % of leads", "lead_share": "% of leads", "median_days": "median days",
    "reference_auc_gain": "model's ROC-AUC gain [95% CI]",
    # the marketing report's: attribution models side by side under short names
    "sales_ready_after_touch": "sales-ready after a touch",
    "sales_ready_first_touch": "first touch",
    "sales_ready_last_touch": "last touch", "sales_ready_position_based": "position-based",
    "sales_ready_per_1k_touches": "position-based per 1k touches",
    "median_days_to_sales_ready": "median days to sales-ready",
    "won_deals_after_touch": "won after a touch", "won_first_touch": "won: first touch",
    "won_last_touch": "won: last touch", "won_position_based": "won: position-based",
    "revenue_first_touch": "revenue: first touch", "revenue_last_touch": "revenue: last touch",
    "revenue_position_based": "revenue: position-based", "return_on_spend": "revenue / spend",
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
        if column in _UNIT_COST_COLUMNS:
            return f"{value:,.2f}"
        if column in _TIMES_COLUMNS:
            return f"{value:.2f}×"
        if column in _DAYS_COLUMNS:
            return f"{value:.1f}"
        if column in _SCORE_COLUMNS:
            return f"{value:.3g}"
        if column in _TENTHS_COLUMNS:
            return f"{value:,.1f}"
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
