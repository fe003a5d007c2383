"""The marketing page: one self-contained HTML file (the validation report's style, tables
and plots inline) answering the marketer's questions in order: what is sales-ready here,
which campaigns and channels bring sales-ready leads and revenue, at what cost, how many
touches it takes, and how the lifecycle moves month by month."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from evaluation import plots
from evaluation.marketing import marketing_plots as figures
from evaluation.marketing.attribution import MIN_LEADS, MIN_SALES_READY
from evaluation.marketing.marketing_report import MarketingReport
from evaluation.report import REPORT_CSS
from evaluation.table_html import html_table as plain_table

# Wide tables scroll sideways, and their headers wrap.
_CSS = ".scroll{overflow-x:auto;max-width:100%}.scroll th{white-space:normal;min-width:64px}"
_ATTRIBUTION_NOTE = (
    "Credit for each sales-ready moment (and each won deal) goes to the touches of the lead's "
    "journey: from the later of its previous sales-ready moment, the close of its previous "
    "deal and {lookback} days before, up to — strictly before — the stage. A touch counts "
    "only before the stage it is credited for. Rules: {rules}. Conversion = leads sales-ready "
    "after a touch / leads touched, with its 95% Wilson interval. Grey rows are small (fewer "
    "than {min_leads} leads touched or {min_ready} sales-ready leads): read them with their "
    "interval. “(none)” collects touches without a campaign or channel."
)


def render_marketing_page(report: MarketingReport) -> str:
    """The page as one HTML string."""
    facts, tables = report.facts, report.tables
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>Marketing report — {esc(facts['dataset'])}</title>",
        f"<style>{REPORT_CSS}{_CSS}</style></head><body>",
        f"<header><h1>What marketing does — {esc(facts['dataset'])}</h1><div class=meta>",
        f"<span><b>Data:</b> {facts['from']} to {facts['until']}</span>",
        f"<span><b>Leads:</b> {facts['leads']:,}</span>",
        f"<span><b>Touches:</b> {facts['touches']:,}</span>",
        "</div></header><main><div class=cards>",
    ]
    for label, value in _cards(facts).items():
        parts.append(
            f"<div class=card><div class=label>{label}</div><div class=value>{value}</div></div>"
        )
    parts.append("</div>")

    def section(title: str, note: str, body: str) -> None:
        parts.append(f"<h2>{esc(title)}</h2><p class=note>{esc(note)}</p>{body}")

    rules = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in facts["attribution_rules"].items())
    section(
        "What counts as sales-ready here",
        f"A lead becomes sales-ready at {facts['sales_ready_definition']}. It goes back to "
        f"nurture after {facts['quiet_days']:g} days without a signal and no opportunity, or "
        "when its deal closes; a later sales-ready moment is a re-entry.",
        "",
    )
    note = _ATTRIBUTION_NOTE.format(
        lookback=f"{facts['lookback_days']:g}", rules=rules, min_leads=MIN_LEADS,
        min_ready=MIN_SALES_READY,
    )  # fmt: skip
    for dimension in ("campaign", "channel"):
        ready, revenue = tables[f"{dimension}_sales_ready"], tables[f"{dimension}_revenue"]
        if not len(ready):
            section(f"By {dimension}", f"No touch in this dataset carries a {dimension}.", "")
            continue
        section(f"Sales-ready leads by {dimension}", note, html_table(ready))
        section(
            f"Won deals and revenue by {dimension}",
            "Won deals after a touch, and each model's attributed won deals and revenue (the "
            "deal's amount split like its credit); median days from the first touch of the "
            f"{dimension} in the journey to the win.",
            html_table(revenue),
        )
        if dimension == "campaign":
            parts.append(_figures({"Attribution models": figures.attribution_figure(
                ready, dimension)}))  # fmt: skip
    if "lead_source" in tables:
        section(
            f"By lead source ({facts['lead_source_column']})",
            "A lead attribute, so every lead counts once: leads, leads ever sales-ready with "
            "the conversion and its interval, re-entries, opportunities, won deals, revenue, "
            "and median days from creation to the first sales-ready moment and the first win.",
            html_table(tables["lead_source"]),
        )
    _costs(tables, section, parts)
    if facts["touches"]:
        section(
            "Touches to conversion",
            "Touches (what marketing sent and the lead's responses) in each journey before the "
            "lead became sales-ready and before a won deal, overall and by lead source.",
            html_table(tables["touches_summary"])
            + f"<div class=two><div>{html_table(tables['touches_histogram'])}</div>"
            + _figures({"Touches": figures.touches_figure(tables["touches_histogram"])})
            + "</div>",
        )
    else:
        section("Touches to conversion", "This dataset has no events: no touches to count.", "")
    section(
        "Lifecycle: monthly cohorts of new leads",
        "Each month's new leads: how many reached each stage, the share sales-ready within 90 "
        "days (empty until the cohort is 90 days old) and where they stand at the end of the "
        "data.",
        html_table(tables["cohort_stages"]),
    )
    section(
        "Lifecycle: time in stage, losses and re-entries by cohort",
        "Median days in each stage; loss rate of the sales-ready stage (went quiet without an "
        "opportunity) and of the opportunity stage (lost deals / closed deals); re-entries: "
        "customers (after a won deal), lost leads and quiet leads that turned sales-ready "
        "again, and how many of those became opportunities.",
        html_table(tables["cohort_times"]),
    )
    section(
        "Lifecycle month by month",
        "Stage moves in each calendar month (and the spend, when a costs table is given).",
        html_table(tables["monthly_activity"])
        + _figures({
            "Cohorts": figures.cohort_figure(tables["cohort_stages"]),
            "Activity": figures.activity_figure(tables["monthly_activity"]),
        }),
    )  # fmt: skip
    parts.append("</main></body></html>")
    return "".join(parts)


def _cards(facts: dict[str, Any]) -> dict[str, str]:
    share = facts["sales_ready_leads"] / max(facts["leads"], 1)
    cards = {
        "Sales-ready leads": f"{facts['sales_ready_leads']:,} ({100 * share:.0f}%)",
        "Re-entries": f"{facts['re_entries']:,}",
        "Won deals": f"{facts['won_deals']:,}",
        "Revenue won": f"{facts['revenue_won']:,.0f}",
        "Median touches to sales-ready": _number(facts["median_touches_to_sales_ready"]),
    }
    if facts.get("spend"):
        cards["Revenue won / spend"] = f"{facts['revenue_won'] / facts['spend']:.1f}×"
    else:
        cards["Median touches to a win"] = _number(facts["median_touches_to_won"])
    return cards


def html_table(frame: pd.DataFrame) -> str:
    """A report table that scrolls sideways when wider than the page."""
    return f"<div class=scroll>{plain_table(frame)}</div>"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _costs(tables: dict[str, pd.DataFrame], section: Any, parts: list[str]) -> None:
    if "campaign_costs" not in tables:
        section(
            "Costs and efficiency",
            "No costs table in the dataset config: add one (campaign or channel, period, "
            "spend) for costs per result and return on spend.",
            "",
        )
        return
    for dimension in ("campaign", "channel"):
        table = tables[f"{dimension}_costs"]
        section(
            f"Costs and efficiency by {dimension}",
            "Spend summed over the costs table's periods; results position-based. Return on "
            "spend = attributed revenue / spend. Spend with no touches is kept, its ratios "
            "empty.",
            html_table(table),
        )
        if dimension == "campaign" and len(table):
            parts.append(_figures({"Efficiency": figures.cost_figure(table, dimension)}))


def _figures(items: dict[str, Any]) -> str:
    cells = "".join(
        f"<figure><img alt='{html.escape(k)}' src='{plots.figure_to_data_uri(v)}'></figure>"
        for k, v in items.items()
    )
    return f"<div class=grid>{cells}</div>"
