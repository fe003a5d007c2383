"""Campaign, channel and lead-source effectiveness: who was touched, who became sales-ready
and bought after a touch, and the credit each attribution model gives (``touches.RULES``).

Conversion (leads that became sales-ready after a touch / leads touched) comes with a 95%
Wilson interval; rows with few leads touched or few sales-ready leads are flagged ``small``
and kept, greyed in the page: a small campaign is shown, not hidden.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.marketing.crm_arrays import NEVER, NONE, CrmArrays
from evaluation.marketing.sales_ready import Episodes, episode_deals
from evaluation.marketing.touches import MODELS, Credit
from evaluation.metrics import wilson_interval
from features.time_rule import DAY_NS

MIN_LEADS = 100  # fewer leads touched than this: a small row
MIN_SALES_READY = 10  # fewer sales-ready leads than this: a small row
_DENSE_PAIRS = 1 << 27  # (lead, code) pairs counted in a bitmap up to this many cells


def dimension_tables(
    crm: CrmArrays,
    episodes: Episodes,
    sales_ready: Credit,
    won: Credit,
    codes: np.ndarray,
    names: list[str],
    dimension: str,
) -> dict[str, pd.DataFrame]:
    """``sales_ready``: per value of a touch dimension (campaign or channel; ``codes`` per
    touch, -1 for none) the touches, leads touched, leads sales-ready after a touch with the
    conversion and its interval, each model's attributed sales-ready leads, position-based
    sales-ready leads per 1,000 touches and the median days from the value's first touch in
    a journey to sales-ready. ``revenue``: the won deals after a touch, each model's
    attributed won deals and revenue, and the median days from first touch to won."""
    k = len(names) + 1  # the last row: touches without a value
    code = np.where(codes < 0, np.int32(k - 1), codes.astype(np.int32, copy=False))
    touches = np.bincount(code, minlength=k)
    touched = _distinct_pairs(crm.touch_lead, code, k, crm.n_leads)
    sr_code = code[sales_ready.touch]
    sr_leads = _distinct_pairs(crm.touch_lead[sales_ready.touch], sr_code, k, crm.n_leads)
    low, high = wilson_interval(sr_leads, touched)
    with np.errstate(invalid="ignore", divide="ignore"):
        conversion = np.where(touched > 0, sr_leads / touched, np.nan)
    sr = pd.DataFrame({dimension: [*names, NONE], "touches": touches, "leads_touched": touched})
    sr["sales_ready_after_touch"] = sr_leads
    sr["conversion"], sr["conversion_low"], sr["conversion_high"] = conversion, low, high
    for model in MODELS:
        sr[f"sales_ready_{model}"] = np.bincount(sr_code, sales_ready.weights[model], k)
    with np.errstate(invalid="ignore", divide="ignore"):
        sr["sales_ready_per_1k_touches"] = 1000 * sr["sales_ready_position_based"] / touches
    sr["median_days_to_sales_ready"] = _median_days(crm, sales_ready, sr_code, episodes.start, k)
    sr["small"] = (touched < MIN_LEADS) | (sr_leads < MIN_SALES_READY)

    won_code = code[won.touch]
    deals = episode_deals(crm, episodes)
    amount = deals.amount[won.journey]
    rev = pd.DataFrame({dimension: [*names, NONE]})
    rev["won_deals_after_touch"] = _distinct_pairs(won.journey, won_code, k, len(episodes))
    for model in MODELS:
        rev[f"won_{model}"] = np.bincount(won_code, won.weights[model], k)
    for model in MODELS:
        rev[f"revenue_{model}"] = np.bincount(won_code, won.weights[model] * amount, k)
    rev["median_days_to_won"] = _median_days(crm, won, won_code, deals.close, k)
    rev["small"] = sr["small"].to_numpy()
    keep = touches > 0
    order = _best_first(sr["sales_ready_position_based"].to_numpy(), keep, k)
    return {
        "sales_ready": sr.iloc[order].reset_index(drop=True),
        "revenue": rev.iloc[order].reset_index(drop=True),
    }


def source_table(crm: CrmArrays, episodes: Episodes) -> pd.DataFrame:
    """Per lead source (a lead attribute: no attribution needed): leads, leads ever
    sales-ready with the conversion and its interval, re-entries, opportunities, won deals,
    revenue and the median days from creation to the first sales-ready moment and the first
    win. The first row is every lead together."""
    k = len(crm.source_names) + 1
    source = np.where(crm.source < 0, k - 1, crm.source).astype(np.int64)
    first = episodes.number == 0
    ep_source = source[episodes.lead]
    deals = episode_deals(crm, episodes)
    has_deal, won = deals.has_deal, deals.won
    first_won = np.full(crm.n_leads, np.iinfo(np.int64).max)
    np.minimum.at(first_won, episodes.lead[won], deals.close[won])
    days_to_won = (first_won - crm.created) / DAY_NS
    days_to_ready = (episodes.start[first] - crm.created[episodes.lead[first]]) / DAY_NS
    columns = {
        "leads": np.bincount(source, minlength=k),
        "sales_ready_leads": np.bincount(ep_source[first], minlength=k),
        "re_entries": np.bincount(ep_source[~first], minlength=k),
        "opportunities": np.bincount(ep_source[has_deal], minlength=k),
        "won_deals": np.bincount(ep_source[won], minlength=k),
        "revenue_won": np.bincount(ep_source[won], deals.amount[won], k),
    }
    table = pd.DataFrame({"lead_source": [*crm.source_names, NONE], **columns})
    table["median_days_to_sales_ready"] = _group_median(ep_source[first], days_to_ready, k)
    bought = first_won != np.iinfo(np.int64).max
    table["median_days_to_won"] = _group_median(source[bought], days_to_won[bought], k)
    total = table.sum(numeric_only=True).to_frame().T
    total.insert(0, "lead_source", "all leads")
    total["median_days_to_sales_ready"] = float(np.median(days_to_ready)) if first.any() else np.nan
    total["median_days_to_won"] = float(np.median(days_to_won[bought])) if bought.any() else np.nan
    table = pd.concat([total, table[table["leads"] > 0]], ignore_index=True)
    leads, ready = table["leads"].to_numpy(float), table["sales_ready_leads"].to_numpy(float)
    low, high = wilson_interval(ready, leads)
    table.insert(3, "conversion", ready / np.maximum(leads, 1))
    table.insert(4, "conversion_low", low)
    table.insert(5, "conversion_high", high)
    table["small"] = table["leads"] < MIN_LEADS
    for column in ("leads", "sales_ready_leads", "re_entries", "opportunities", "won_deals"):
        table[column] = table[column].astype(np.int64)
    return table


def _distinct_pairs(rows: np.ndarray, code: np.ndarray, k: int, n_rows: int) -> np.ndarray:
    """Per code, how many distinct ``rows`` (leads, journeys) have at least one entry."""
    if not code.size:
        return np.zeros(k, dtype=np.int64)
    wide = np.int32 if n_rows * k < 2**31 else np.int64  # half the memory traffic when it fits
    key = rows.astype(wide, copy=False) * wide(k) + code
    if n_rows * k <= _DENSE_PAIRS:
        seen = np.zeros(n_rows * k, dtype=bool)
        seen[key] = True
        return np.bincount(np.flatnonzero(seen) % k, minlength=k)
    return np.bincount(np.unique(key) % k, minlength=k)


def _median_days(
    crm: CrmArrays, credit: Credit, code: np.ndarray, stage_at: np.ndarray, k: int
) -> np.ndarray:
    """Per code, the median over journeys of the days from the code's first touch in the
    journey to the stage (``stage_at`` per episode)."""
    if not code.size:
        return np.full(k, np.nan)
    pair = credit.journey.astype(np.int64) * k + code
    t = crm.touch_t[credit.touch]
    if stage_at.size * k <= _DENSE_PAIRS // 8:  # an int64 per (journey, code)
        first_t = np.full(stage_at.size * k, NEVER)
        np.minimum.at(first_t, pair, t)
        pairs = np.flatnonzero(first_t != NEVER)
        first_t = first_t[pairs]
    else:
        first = pd.Series(t).groupby(pair, sort=False).min()
        pairs, first_t = first.index.to_numpy(), first.to_numpy()
    days = (stage_at[pairs // k] - first_t) / DAY_NS
    return _group_median(pairs % k, days, k)


def _group_median(group: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Median of ``values`` per group 0..k-1 (NaN for an empty group)."""
    out = np.full(k, np.nan)
    if not group.size:
        return out
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(k + 1))
    ordered = values[order]
    for g in np.flatnonzero(np.diff(bounds)):
        out[g] = np.median(ordered[bounds[g] : bounds[g + 1]])
    return out


def _best_first(credit: np.ndarray, keep: np.ndarray, k: int) -> np.ndarray:
    """Rows with touches, most position-based credit first; the no-value row last."""
    named = np.flatnonzero(keep[: k - 1])
    named = named[np.argsort(-credit[named], kind="stable")]
    return np.r_[named, [k - 1] if keep[k - 1] else []].astype(np.int64)
