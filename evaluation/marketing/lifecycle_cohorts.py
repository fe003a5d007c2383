"""The lifecycle over time: monthly cohorts of new leads followed through the stages, and the
stage moves of each calendar month.

Stages follow the sales-ready episodes (``sales_ready``): nurture -> sales-ready ->
opportunity -> won (a customer) or lost (recycled). A sales-ready lead that shows no signal
for ``quiet_days`` and has no opportunity goes back to nurture: the sales-ready stage lost it.
A lead's stage today is that of its last episode (a quiet one leaves it where it was before:
won (a customer), lost or in nurture). Re-entries are the later episodes of a lead: a
customer or a lost lead that came back and turned sales-ready again, or a quiet lead
re-engaging. Young cohorts have had less time: ``sales_ready_within_90d`` is left empty
until a cohort's every lead is 90 days old, and the current-stage counts say where leads
stand at the end of the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.lifecycle import STAGES
from evaluation.marketing.crm_arrays import NEVER, CrmArrays
from evaluation.marketing.sales_ready import REENTRY_KINDS, Episodes, episode_deals
from features.time_rule import DAY_NS

CURRENT_STAGES = STAGES  # nurture, sales_ready, opportunity, won (a customer), lost_recycled


def _months(ns: np.ndarray) -> np.ndarray:
    return ns.astype("datetime64[ns]").astype("datetime64[M]")


def cohort_tables(crm: CrmArrays, episodes: Episodes) -> dict[str, pd.DataFrame]:
    """``cohort_stages``: per month of creation, the new leads, how many reached each stage,
    the share sales-ready within 90 days and where they stand now. ``cohort_times``: per
    cohort, the median days in each stage, the loss rate of the sales-ready and opportunity
    stages and the re-entries by kind."""
    cohort_month = _months(crm.created)
    first_month = cohort_month.min()
    cohort = (cohort_month - first_month).astype(np.int64)
    k = int(cohort.max()) + 1
    months = [str(first_month + np.timedelta64(m, "M")) for m in range(k)]
    ep = _episode_facts(crm, episodes)
    lead_cohort = cohort[episodes.lead]

    def leads_with(mask: np.ndarray) -> np.ndarray:
        seen = np.zeros(crm.n_leads, dtype=bool)
        seen[episodes.lead[mask]] = True
        return np.bincount(cohort[seen], minlength=k)

    first = episodes.number == 0
    days_to_ready = (episodes.start - crm.created[episodes.lead]) / DAY_NS
    within = first & (days_to_ready <= 90)
    matured = (_month_end(first_month, k) + 90 * DAY_NS) <= crm.observed_until
    new = np.bincount(cohort, minlength=k)
    stages = pd.DataFrame(
        {
            "month": months,
            "new_leads": new,
            "reached_sales_ready": leads_with(first),
            "sales_ready_within_90d": np.where(
                matured, np.bincount(lead_cohort[within], minlength=k) / np.maximum(new, 1), np.nan
            ),
            "reached_opportunity": leads_with(ep["has_deal"]),
            "won": leads_with(ep["won"]),
            "lost": leads_with(ep["lost"]),
        }
    )
    now = _current_stage(crm, episodes, ep)
    for i, name in enumerate(CURRENT_STAGES):
        stages[f"now_{name}"] = np.bincount(cohort[now == i], minlength=k)

    def median_by_cohort(mask: np.ndarray, days: np.ndarray) -> np.ndarray:
        values = pd.Series(days[mask]).groupby(lead_cohort[mask]).median()
        return values.reindex(range(k)).to_numpy(dtype=np.float64)

    ended_ready = ep["has_deal"] | ep["quiet"]
    closed = ep["won"] | ep["lost"]
    times = pd.DataFrame(
        {
            "month": months,
            "days_to_sales_ready": median_by_cohort(first, days_to_ready),
            "days_sales_ready_to_opportunity": median_by_cohort(
                ep["has_deal"], (ep["open"] - episodes.start) / DAY_NS
            ),
            "days_opportunity_to_close": median_by_cohort(
                closed, (ep["close"] - ep["open"]) / DAY_NS
            ),
            "sales_ready_loss_rate": _rate(lead_cohort, ep["quiet"], ended_ready, k),
            "opportunity_loss_rate": _rate(lead_cohort, ep["lost"], closed, k),
        }
    )
    for i, kind in enumerate(REENTRY_KINDS[1:], start=1):
        times[f"re_entries_{kind}"] = np.bincount(lead_cohort[episodes.reentry == i], minlength=k)
    times["re_entries_to_opportunity"] = np.bincount(
        lead_cohort[(episodes.number > 0) & ep["has_deal"]], minlength=k
    )
    return {"cohort_stages": stages, "cohort_times": times}


def monthly_activity(
    crm: CrmArrays, episodes: Episodes, spend_by_month: pd.Series | None = None
) -> pd.DataFrame:
    """Per calendar month: new leads, first sales-ready moments and re-entries,
    opportunities opened, deals won and lost, revenue won, and, given the spend per month,
    the spend and the spend per sales-ready moment."""
    start = _months(crm.created).min()
    stop = _months(np.array([crm.observed_until]))[0]
    k = int((stop - start).astype(np.int64)) + 1

    def count(ns: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        index = (_months(ns) - start).astype(np.int64)
        keep = (index >= 0) & (index < k)
        w = None if weights is None else weights[keep]
        return np.bincount(index[keep], weights=w, minlength=k)

    closed = crm.deal_close != NEVER
    won = closed & crm.deal_won
    table = pd.DataFrame(
        {
            "month": [str(start + np.timedelta64(m, "M")) for m in range(k)],
            "new_leads": count(crm.created),
            "sales_ready_first": count(episodes.start[episodes.number == 0]),
            "sales_ready_re_entries": count(episodes.start[episodes.number > 0]),
            "opportunities_opened": count(crm.deal_open),
            "won_deals": count(crm.deal_close[won]),
            "lost_deals": count(crm.deal_close[closed & ~crm.deal_won]),
            "revenue_won": count(crm.deal_close[won], crm.deal_amount[won]),
        }
    )
    if spend_by_month is not None:
        table["spend"] = spend_by_month.reindex(table["month"]).fillna(0.0).to_numpy()
        ready = table["sales_ready_first"] + table["sales_ready_re_entries"]
        table["spend_per_sales_ready"] = table["spend"] / ready.where(ready > 0)
    for column in table.columns[1:]:
        if column not in ("revenue_won", "spend", "spend_per_sales_ready"):
            table[column] = table[column].astype(np.int64)
    return table


def _episode_facts(crm: CrmArrays, episodes: Episodes) -> dict[str, np.ndarray]:
    deals = episode_deals(crm, episodes)
    quiet_exit = episodes.last_signal + episodes.quiet_ns
    return {
        "has_deal": deals.has_deal,
        "open": deals.open,
        "close": deals.close,
        "won": deals.won,
        "lost": deals.lost,
        "quiet": ~deals.has_deal & (quiet_exit <= crm.observed_until),
    }


def _current_stage(crm: CrmArrays, episodes: Episodes, ep: dict[str, np.ndarray]) -> np.ndarray:
    """Index into CURRENT_STAGES per lead, from its last episode."""
    stage = np.zeros(crm.n_leads, dtype=np.int8)
    if not len(episodes):
        return stage
    ever_won = np.zeros(crm.n_leads, dtype=bool)
    ever_lost = np.zeros(crm.n_leads, dtype=bool)
    ever_won[episodes.lead[ep["won"]]] = True
    ever_lost[episodes.lead[ep["lost"]]] = True
    last = np.r_[episodes.lead[1:] != episodes.lead[:-1], True]
    lead = episodes.lead[last]
    fallback = np.where(ever_won[lead], 3, np.where(ever_lost[lead], 4, 0))
    stage[lead] = np.select(
        [ep["won"][last], ep["lost"][last], ep["has_deal"][last], ~ep["quiet"][last]],
        [3, 4, 2, 1],
        default=fallback,
    )
    return stage


def _rate(group: np.ndarray, hits: np.ndarray, base: np.ndarray, k: int) -> np.ndarray:
    n = np.bincount(group[base], minlength=k).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.bincount(group[hits & base], minlength=k) / n, np.nan)


def _month_end(first: np.datetime64, k: int) -> np.ndarray:
    """Per cohort month, the ns when the month ends."""
    ends = first + np.arange(1, k + 1).astype("timedelta64[M]")
    return ends.astype("datetime64[ns]").astype(np.int64)
