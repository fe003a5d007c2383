"""How many touches it takes: the touches in each journey before the lead became sales-ready
and before a won deal (what marketing sent and what the lead did), overall and by lead source.

The journeys are those credit goes to (``touches``): from the later of the previous
sales-ready moment, the previous deal's close and the lookback window, up to the stage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.marketing.crm_arrays import NONE, CrmArrays
from evaluation.marketing.sales_ready import Episodes
from evaluation.marketing.touches import Credit

BUCKETS = ((0, 0), (1, 1), (2, 2), (3, 4), (5, 7), (8, 10), (11, 15), (16, 25), (26, None))


def touch_count_tables(
    crm: CrmArrays, episodes: Episodes, sales_ready: Credit, won: Credit, won_episodes: np.ndarray
) -> dict[str, pd.DataFrame]:
    """``summary``: per stage and lead source (all first), the journeys, the mean and
    quartiles of their touches, mean sends and responses, and the share with no touch.
    ``histogram``: the share of journeys per number of touches, for both stages."""
    stages = {
        "sales-ready": (sales_ready, np.ones(len(episodes), dtype=bool)),
        "won": (won, won_episodes),
    }
    source = crm.source[episodes.lead]
    names = [*crm.source_names, NONE]
    rows, histogram = [], {}
    for stage, (credit, which) in stages.items():
        touches = credit.touches_per_journey[which]
        sends = credit.sends_per_journey[which]
        rows.append(_summary(stage, "all leads", touches, sends))
        if crm.source_column is not None:
            code = np.where(source[which] < 0, len(names) - 1, source[which])
            for value in np.unique(code):
                chosen = code == value
                rows.append(_summary(stage, names[value], touches[chosen], sends[chosen]))
        histogram[f"share_{stage.replace('-', '_')}"] = _histogram(touches)
    labels = [f"{low}" if low == high else f"{low}+" if high is None else f"{low}-{high}"
              for low, high in BUCKETS]  # fmt: skip
    return {
        "summary": pd.DataFrame(rows),
        "histogram": pd.DataFrame({"touches": labels, **histogram}),
    }


def _summary(stage: str, source: str, touches: np.ndarray, sends: np.ndarray) -> dict:
    n = touches.size
    quartiles = [np.nan] * 4 if not n else np.percentile(touches, [25, 50, 75, 90]).tolist()
    return {
        "stage": stage,
        "lead_source": source,
        "journeys": n,
        "mean_touches": float(touches.mean()) if n else np.nan,
        "p25": quartiles[0],
        "median": quartiles[1],
        "p75": quartiles[2],
        "p90": quartiles[3],
        "mean_sends": float(sends.mean()) if n else np.nan,
        "mean_responses": float((touches - sends).mean()) if n else np.nan,
        "share_without_touch": float((touches == 0).mean()) if n else np.nan,
        "small": n < 30,
    }


def _histogram(touches: np.ndarray) -> np.ndarray:
    edges = [low for low, _ in BUCKETS]
    counts = np.bincount(np.searchsorted(edges, touches, side="right") - 1, minlength=len(edges))
    return counts / max(touches.size, 1)
