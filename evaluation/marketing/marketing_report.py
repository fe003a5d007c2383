"""The marketing report from a loaded dataset: every table, then the page and a CSV per table.

``build_marketing_report`` finds the sales-ready moments (from the model's threshold when a
model is given, else from intent events), credits the touches before them and before won
deals, and computes the campaign, channel and lead-source tables, the costs, the touches to
conversion and the lifecycle cohorts. ``write_marketing_report`` writes ``marketing.html``
(self-contained: inline CSS, plots as data URIs), ``<table>.csv`` for every table and
``marketing.json`` (the page's facts and definitions), each atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from common.files import write_atomically, write_text_atomically
from evaluation.marketing.attribution import dimension_tables, source_table
from evaluation.marketing.crm_arrays import NEVER, crm_arrays, lead_source_column
from evaluation.marketing.efficiency import efficiency_table, spend_by, spend_by_month
from evaluation.marketing.lifecycle_cohorts import cohort_tables, monthly_activity
from evaluation.marketing.sales_ready import (
    INTENT_DEFINITION,
    episode_deals,
    intent_signals,
    sales_ready_episodes,
)
from evaluation.marketing.touch_counts import touch_count_tables
from evaluation.marketing.touches import RULES, journey_candidates, stage_credit
from features.ingest.dataset import Dataset

PAGE = "marketing.html"


@dataclass(frozen=True)
class MarketingOptions:
    """How the report defines its stages and journeys."""

    lookback_days: float = 60.0  # touches older than this before a stage get no credit
    quiet_days: float = 90.0  # a sales-ready lead without a signal this long is recycled
    source_column: str | None = None  # lead attribute of the lead source (default: guessed)
    every_days: int = 7  # the model's scoring grid, when a model defines sales-ready


@dataclass
class MarketingReport:
    """The report's tables (name -> DataFrame) and the facts the page states."""

    tables: dict[str, pd.DataFrame]
    facts: dict[str, Any] = field(default_factory=dict)


def build_marketing_report(
    dataset: Dataset,
    options: MarketingOptions | None = None,
    *,
    model: Any | None = None,
    model_version: str = "",
    progress: Callable[[int], None] | None = None,
) -> MarketingReport:
    """Every table of the marketing page for ``dataset`` (temporal mode)."""
    options = options or MarketingOptions()
    source = lead_source_column(dataset, options.source_column)
    crm = crm_arrays(dataset, source)
    if model is None:
        signals, definition = intent_signals(crm), INTENT_DEFINITION
    else:
        from evaluation.marketing.model_signals import model_definition, model_signals

        signals = model_signals(model, dataset, crm, options.every_days, progress=progress)
        definition = model_definition(model, model_version, options.every_days)
    episodes = sales_ready_episodes(
        crm, *signals, definition=definition, quiet_days=options.quiet_days,
        lookback_days=options.lookback_days,
    )  # fmt: skip
    deals = episode_deals(crm, episodes)
    won_at = np.where(deals.won, deals.close, NEVER)
    candidates = journey_candidates(crm, episodes, np.where(deals.won, won_at, episodes.start))
    ready_credit = stage_credit(crm, episodes, episodes.start, candidates)
    won_credit = stage_credit(crm, episodes, won_at, candidates)

    tables: dict[str, pd.DataFrame] = {}
    for dimension, codes, names in (
        ("campaign", crm.touch_campaign, crm.campaigns),
        ("channel", crm.touch_channel, crm.channels),
    ):
        pair = dimension_tables(crm, episodes, ready_credit, won_credit, codes, names, dimension)
        tables[f"{dimension}_sales_ready"] = pair["sales_ready"]
        tables[f"{dimension}_revenue"] = pair["revenue"]
    if source is not None:
        tables["lead_source"] = source_table(crm, episodes)
    costs = dataset.costs if len(dataset.costs) else None
    if costs is not None:
        spend = spend_by(costs, crm)
        for dimension in ("campaign", "channel"):
            tables[f"{dimension}_costs"] = efficiency_table(
                spend[dimension], tables[f"{dimension}_sales_ready"],
                tables[f"{dimension}_revenue"], dimension,
            )  # fmt: skip
    counts = touch_count_tables(crm, episodes, ready_credit, won_credit, deals.won)
    tables["touches_summary"], tables["touches_histogram"] = counts["summary"], counts["histogram"]
    tables.update(cohort_tables(crm, episodes))
    tables["monthly_activity"] = monthly_activity(
        crm, episodes, spend_by_month(costs) if costs is not None else None
    )
    facts = {
        "dataset": dataset.config.name,
        "leads": crm.n_leads,
        "touches": int(crm.touch_t.size),
        "sales_ready_moments": len(episodes),
        "sales_ready_leads": int(np.unique(episodes.lead).size),
        "re_entries": int((episodes.number > 0).sum()),
        "won_deals": int(deals.won.sum()),
        "revenue_won": float(deals.amount.sum()),
        "spend": float(costs["spend"].sum()) if costs is not None else None,
        "from": _iso(int(crm.created.min())),
        "until": _iso(crm.observed_until),
        "sales_ready_definition": definition,
        "model_version": model_version or None,
        "lead_source_column": source,
        "lookback_days": options.lookback_days,
        "quiet_days": options.quiet_days,
        "attribution_rules": RULES,
        "median_touches_to_sales_ready": _median(ready_credit.touches_per_journey),
        "median_touches_to_won": _median(won_credit.touches_per_journey[deals.won]),
    }
    return MarketingReport(tables=tables, facts=facts)


def write_marketing_report(report: MarketingReport, out_dir: str | Path) -> Path:
    """Write the page, a CSV per table and the facts as JSON into ``out_dir``; returns the
    page's path."""
    from evaluation.marketing.marketing_page import render_marketing_page

    out_dir = Path(out_dir)
    for name, table in report.tables.items():
        write_atomically(out_dir / f"{name}.csv", lambda tmp, t=table: t.to_csv(tmp, index=False))
    facts = json.dumps(report.facts, indent=2, allow_nan=False, default=str)
    write_text_atomically(facts, out_dir / "marketing.json")
    return write_text_atomically(render_marketing_page(report), out_dir / PAGE)


def _iso(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").strftime("%Y-%m-%d")


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None
