"""Costs and efficiency: what each campaign and channel cost per lead touched, per
sales-ready lead and per won deal, and the revenue it returned per unit of spend.

Spend comes from the dataset's costs table (``features.ingest.costs_table``), summed over all
its periods. A campaign's spend is its rows'; a channel's is the rows naming the channel plus
the rows naming only a campaign, placed in the channel most of that campaign's touches came
through. Results are position-based attribution (``touches.RULES``); the first- and last-touch
numbers are in the attribution tables. Spend on a campaign that touched nobody is kept, with
empty ratios: money spent with nothing to show is what this table is for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.marketing.crm_arrays import NONE, CrmArrays
from features.ingest import contracts as c
from features.ingest.costs_table import PERIOD, SPEND


def efficiency_table(
    spend: pd.Series, sales_ready: pd.DataFrame, revenue: pd.DataFrame, dimension: str
) -> pd.DataFrame:
    """Per campaign or channel with spend or touches: spend, leads touched, position-based
    sales-ready leads and won deals with the cost of each, revenue and return on spend."""
    results = sales_ready.set_index(dimension)[["leads_touched", "sales_ready_position_based"]]
    results = results.join(
        revenue.set_index(dimension)[["won_position_based", "revenue_position_based"]]
    )
    names = list(dict.fromkeys([*results.index, *spend.index]))
    table = results.reindex(names)
    table.insert(0, "spend", spend.reindex(names).to_numpy())
    table = table[table["spend"].notna() & (table["spend"] > 0)]
    filled = table.fillna({"leads_touched": 0, "sales_ready_position_based": 0.0})
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                dimension: table.index,
                "spend": table["spend"].to_numpy(),
                "leads_touched": filled["leads_touched"].astype(np.int64).to_numpy(),
                "cost_per_lead_touched": _per(table["spend"], filled["leads_touched"]),
                "sales_ready": filled["sales_ready_position_based"].to_numpy(),
                "cost_per_sales_ready": _per(table["spend"], filled["sales_ready_position_based"]),
                "won_deals": table["won_position_based"].fillna(0.0).to_numpy(),
                "cost_per_won_deal": _per(table["spend"], table["won_position_based"]),
                "revenue": table["revenue_position_based"].fillna(0.0).to_numpy(),
                "return_on_spend": (
                    table["revenue_position_based"].fillna(0.0) / table["spend"]
                ).to_numpy(),
            }
        )
    return out.sort_values("return_on_spend", ascending=False, kind="stable").reset_index(drop=True)


def spend_by(costs: pd.DataFrame, crm: CrmArrays) -> dict[str, pd.Series]:
    """Total spend per campaign and per channel (see the module docstring for the channel)."""
    by_campaign = costs.dropna(subset=[c.CAMPAIGN]).groupby(c.CAMPAIGN)[SPEND].sum()
    channel = costs[c.CHANNEL].copy()
    only_campaign = channel.isna() & costs[c.CAMPAIGN].notna()
    channel[only_campaign] = costs.loc[only_campaign, c.CAMPAIGN].map(_main_channel(crm))
    by_channel = costs[SPEND].groupby(channel.fillna(NONE)).sum()
    return {"campaign": by_campaign, "channel": by_channel}


def spend_by_month(costs: pd.DataFrame) -> pd.Series:
    """Total spend per calendar month of the period's start (YYYY-MM)."""
    month = costs[PERIOD].dt.tz_convert("UTC").dt.strftime("%Y-%m")
    return costs[SPEND].groupby(month).sum()


def _main_channel(crm: CrmArrays) -> dict[str, str]:
    """The channel most touches of each campaign came through."""
    has_both = (crm.touch_campaign >= 0) & (crm.touch_channel >= 0)
    k = max(len(crm.channels), 1)
    pairs = crm.touch_campaign[has_both].astype(np.int64) * k + crm.touch_channel[has_both]
    counts = np.bincount(pairs, minlength=len(crm.campaigns) * k).reshape(-1, k)
    used = counts.sum(axis=1) > 0
    return {crm.campaigns[i]: crm.channels[int(counts[i].argmax())] for i in np.flatnonzero(used)}


def _per(spend: pd.Series, results: pd.Series) -> np.ndarray:
    values = results.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(values > 0, spend.to_numpy(dtype=np.float64) / values, np.nan)
