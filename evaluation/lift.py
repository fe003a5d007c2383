"""Decile lift and cumulative gains: how many of the wins sit in the top of the ranking."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evaluation.metrics import check_inputs


def rank_order(p: np.ndarray) -> np.ndarray:
    """Row indices from highest to lowest score; ties keep input order (stable sort).

    Deterministic tie handling matters: a score with many ties (rule points, a coarse model)
    would otherwise get a different lift on every run.
    """
    return np.argsort(-p, kind="stable")


def decile_table(y: Any, p: Any, n_groups: int = 10) -> pd.DataFrame:
    """One row per score decile (1 = highest scores): leads, wins, conversion, lift over the
    base rate, cumulative share of wins (gains) and cumulative share of leads.

    Deciles are equal-size slices of the ranking (sizes differ by at most one), so ties that
    straddle a boundary are split by input order rather than making deciles uneven.
    """
    y_arr, p_arr = check_inputs(y, p)
    if y_arr.size == 0:
        raise ValueError("decile_table needs at least one row")
    order = rank_order(p_arr)
    groups = np.array_split(order, min(n_groups, y_arr.size))
    total_wins = int(y_arr.sum())
    base_rate = total_wins / y_arr.size
    leads = np.array([g.size for g in groups])
    wins = np.array([int(y_arr[g].sum()) for g in groups])
    conversion = wins / leads
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = conversion / base_rate if base_rate > 0 else np.full(len(groups), np.nan)
        gains = np.cumsum(wins) / total_wins if total_wins else np.full(len(groups), np.nan)
    return pd.DataFrame(
        {
            "decile": np.arange(1, len(groups) + 1),
            "leads": leads,
            "wins": wins,
            "min_score": [float(p_arr[g].min()) for g in groups],
            "conversion": conversion,
            "lift": lift,
            "cum_share_wins": gains,
            "cum_share_leads": np.cumsum(leads) / y_arr.size,
        }
    )


def top_decile_lift(y: Any, p: Any) -> float:
    """Conversion in the top 10% of scores divided by the overall conversion."""
    return float(decile_table(y, p)["lift"].iloc[0])


def gains_curve(y: Any, p: Any, n_points: int = 101) -> pd.DataFrame:
    """Cumulative gains: share of wins captured (y) when contacting the top share of leads (x).

    Sampled at ``n_points`` evenly spaced lead shares from 0 to 1, ranking by score with stable
    ties, so curves for different models can be drawn on one axis.
    """
    y_arr, p_arr = check_inputs(y, p)
    order = rank_order(p_arr)
    cum_wins = np.concatenate([[0], np.cumsum(y_arr[order])])
    share_leads = np.linspace(0.0, 1.0, n_points)
    counts = np.round(share_leads * y_arr.size).astype(int)
    total = cum_wins[-1]
    share_wins = cum_wins[counts] / total if total else np.full(n_points, np.nan)
    return pd.DataFrame({"share_leads": share_leads, "share_wins": share_wins})
