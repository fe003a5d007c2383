"""The simulator's realised rates: per-chunk sums that add up across chunks into the summary
(share of leads that buy, win rate, touches before a purchase, lift of the top fit quintile)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.simulation.lead_journeys import EVENT_TYPES, TOUCH_TYPES
from features.simulation.oracle import OPP, WON
from features.simulation.population import People
from features.time_rule import DAY_NS


def chunk_stats(
    people: People,
    walk: dict[str, np.ndarray],
    ev_lead: np.ndarray,
    ev_ns: np.ndarray,
    ev_type: np.ndarray,
    o_lead: np.ndarray,
    won: np.ndarray,
    start_ns: int,
) -> dict[str, float]:
    """Sums needed for the realised rates (added up across chunks)."""
    buyers = np.unique(o_lead[won])
    # Touches before a purchase: the lead's own actions in the 90 days before the first winning
    # opportunity opened.
    opp_closed = (walk["state"] == OPP) & (walk["next"] == WON)
    first_win = pd.Series(walk["start"][opp_closed]).groupby(walk["lead"][opp_closed]).min()
    touch = np.isin(ev_type, [EVENT_TYPES.index(t) for t in TOUCH_TYPES])
    t_lead, t_days = ev_lead[touch], (ev_ns[touch].view("i8") - start_ns) / DAY_NS
    win_at = np.full(people.n, np.nan)
    win_at[first_win.index.to_numpy()] = first_win.to_numpy()
    w_t = win_at[t_lead]
    before = (t_days <= w_t) & (t_days > w_t - 90)
    top = people.fit >= np.quantile(people.fit, 0.8)
    bottom = people.fit <= np.quantile(people.fit, 0.2)
    return {
        "buyers": float(buyers.size),
        "touches": float(before.sum()),
        "opportunities": float(o_lead.size),
        "wins": float(won.sum()),
        "buyers_top_fit": float(np.isin(np.flatnonzero(top), buyers).sum()),
        "buyers_bottom_fit": float(np.isin(np.flatnonzero(bottom), buyers).sum()),
        "top_fit": float(top.sum()),
        "bottom_fit": float(bottom.sum()),
        "accounts": float(np.unique(people.account).size),
    }
