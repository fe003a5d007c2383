"""Tier table: how leads in each tier (A/B/C/D) actually converted, and what the top tiers catch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluation.metrics import wilson_interval

DEFAULT_TIER_ORDER = ("A", "B", "C", "D")


def _aligned(tiers: Any, y: Any, amount: Any | None) -> pd.DataFrame:
    """Tiers, labels and amounts as one frame; raise naming bad rows."""
    frame = pd.DataFrame(
        {
            "tier": pd.Series(np.asarray(tiers, dtype=object)),
            "y": pd.Series(np.asarray(y, dtype=float).ravel()),
        }
    )
    if len(frame["tier"]) != len(frame["y"]) or frame["y"].isna().any():
        raise ValueError("tiers and labels must have the same length and labels must be 0/1")
    missing = frame.index[frame["tier"].isna()]
    if len(missing):
        raise ValueError(
            f"tiers: {len(missing)} row(s) have no tier, e.g. rows {missing[:5].tolist()}"
        )
    bad = frame.index[~frame["y"].isin((0.0, 1.0))]
    if len(bad):
        raise ValueError(f"labels must be 0/1: {len(bad)} row(s) are not, e.g. {bad[:5].tolist()}")
    if amount is None:
        frame["amount"] = 0.0
    else:
        amounts = np.asarray(amount, dtype=float).ravel()
        if amounts.size != len(frame):
            raise ValueError(f"amount ({amounts.size}) and labels ({len(frame)}) differ in length")
        frame["amount"] = np.nan_to_num(amounts, nan=0.0)
    return frame


def tier_table(
    tiers: Any,
    y: Any,
    amount: Any | None = None,
    order: Sequence[str] = DEFAULT_TIER_ORDER,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per tier (best first): leads, wins, conversion with Wilson CI, share of all leads,
    share of all wins, and revenue won (sum of ``amount`` over won rows; unknown amounts count 0).

    Tiers present in the data but not in ``order`` are appended after it, so none is dropped.
    """
    frame = _aligned(tiers, y, amount)
    present = [str(t) for t in pd.unique(frame["tier"])]
    names = [*order, *sorted(set(present) - set(order))]
    frame["tier"] = frame["tier"].astype(str)
    frame["won_amount"] = frame["amount"] * frame["y"]
    grouped = frame.groupby("tier", sort=False).agg(
        leads=("y", "size"), wins=("y", "sum"), revenue_won=("won_amount", "sum")
    )
    grouped = grouped.reindex(names, fill_value=0)
    leads = grouped["leads"].to_numpy(dtype=float)
    wins = grouped["wins"].to_numpy(dtype=float)
    low, high = wilson_interval(wins, leads, confidence)
    total_wins = wins.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        conversion = np.where(leads > 0, wins / leads, np.nan)
    return pd.DataFrame(
        {
            "tier": names,
            "leads": leads.astype(int),
            "wins": wins.astype(int),
            "conversion": conversion,
            "conversion_low": low,
            "conversion_high": high,
            "share_leads": leads / leads.sum(),
            "share_wins": wins / total_wins if total_wins else np.full(len(names), np.nan),
            "revenue_won": grouped["revenue_won"].to_numpy(dtype=float),
        }
    )


def top_tier_summary(
    table: pd.DataFrame, tops: Sequence[Sequence[str]] = (("A",), ("A", "B"))
) -> list[dict[str, Any]]:
    """Recall (share of all wins) and lead share of each group of top tiers, e.g. A and A+B.

    The pair answers the sales question "if we only call these, what share of the buyers do we
    reach, and what share of the list is that?".
    """
    total_leads = table["leads"].sum()
    total_wins = table["wins"].sum()
    rows = []
    for group in tops:
        chosen = table[table["tier"].isin(group)]
        leads, wins = int(chosen["leads"].sum()), int(chosen["wins"].sum())
        rows.append(
            {
                "tiers": "+".join(group),
                "leads": leads,
                "wins": wins,
                "recall": float(wins / total_wins) if total_wins else float("nan"),
                "lead_share": float(leads / total_leads) if total_leads else float("nan"),
                "conversion": wins / leads if leads else float("nan"),
            }
        )
    return rows
