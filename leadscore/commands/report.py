"""`leadscore report ...`: reports for the people who act on the scores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from common.settings import Settings

console = Console(stderr=True)

app = typer.Typer(help="Reports for marketing and sales teams.", no_args_is_help=True)


@app.command()
def marketing(
    ctx: typer.Context,
    dataset: Annotated[
        str, typer.Option(help="Dataset config: a YAML path or a shipped name (demo, ...).")
    ],
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with the data files (default: settings).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for marketing.html and the CSVs (default: reports/NAME-marketing)."
        ),
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option(
            help="Define sales-ready by this registered model's threshold (e.g. champion)."
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(help="Define sales-ready by this model version (overrides --alias)."),
    ] = None,
    lookback_days: Annotated[
        float, typer.Option(min=1, help="Touches older than this before a stage get no credit.")
    ] = 60.0,
    quiet_days: Annotated[
        float, typer.Option(min=1, help="A sales-ready lead with no signal this long is recycled.")
    ] = 90.0,
    source: Annotated[
        str | None,
        typer.Option(
            help="Lead attribute naming the lead source (default: lead_source, source or origin)."
        ),
    ] = None,
    every_days: Annotated[
        int, typer.Option(min=1, help="Days between the model's scores of a lead (with a model).")
    ] = 7,
) -> None:
    """Measure what marketing does: which campaigns, channels and lead sources make
    sales-ready leads and revenue, at what cost, how many touches it takes, and the lifecycle
    month by month.

    Writes marketing.html (self-contained, tables and plots) and a CSV per table. Credit goes
    to the touches before each stage under first-touch, last-touch and position-based
    (40/20/40) attribution, side by side. Sales-ready is the moment a registered model's score
    first reached its threshold when --alias or --version is given, else the first intent
    event (pricing page, demo request, form) or opportunity. Costs per result and return on
    spend need a costs table in the dataset config (campaign or channel, period, spend)."""
    from evaluation.marketing.marketing_report import (
        MarketingOptions,
        build_marketing_report,
        write_marketing_report,
    )
    from features.ingest.contracts import DataValidationError
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset

    settings: Settings = ctx.obj
    try:
        loaded = load_dataset(load_config(dataset), data_dir or settings.data_dir)
    except (DataValidationError, FileNotFoundError, ValueError) as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    model, chosen = _model(settings, alias, version)
    options = MarketingOptions(
        lookback_days=lookback_days, quiet_days=quiet_days, source_column=source,
        every_days=every_days,
    )  # fmt: skip
    try:
        with console.status("crediting touches, costs and cohorts"):
            report = build_marketing_report(loaded, options, model=model, model_version=chosen)
    except ValueError as exc:
        console.print(f"[red]cannot report:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    folder = out or Path("reports") / f"{loaded.config.name}-marketing"
    page = write_marketing_report(report, folder)
    _print_campaigns(report.tables)
    console.print(f"sales-ready: {report.facts['sales_ready_definition']}")
    console.print(f"[green]wrote[/green] {page} and {len(report.tables)} CSV tables in {folder}")


def linked_marketing_page(
    loaded: Any, model: Any, version: str, folder: Path, subfolder: str
) -> dict[str, str]:
    """Write the marketing report, sales-ready by ``model``, to ``folder/subfolder``; returns
    the link for the validation report (description -> relative path)."""
    from evaluation.marketing.marketing_report import build_marketing_report, write_marketing_report

    with console.status("marketing report: crediting touches before sales-ready and wins"):
        report = build_marketing_report(loaded, model=model, model_version=version)
        page = write_marketing_report(report, folder / subfolder)
    label = "Marketing: campaigns, channels, costs, touches and the lifecycle over time"
    return {label: f"{subfolder}/{page.name}"}


def _model(settings: Settings, alias: str | None, version: str | None) -> tuple[Any, str]:
    """The registered model that defines sales-ready, if one was asked for."""
    if alias is None and version is None:
        return None, ""
    from models.registry import alias_version, client_for, load_bundle

    client = client_for(settings.mlflow_tracking_uri)
    chosen = version or alias_version(client, settings.model_name, alias)
    if chosen is None:
        console.print(f"[red]no model:[/red] models:/{settings.model_name}@{alias} does not exist")
        raise typer.Exit(code=2)
    return load_bundle(client, settings.model_name, chosen), str(chosen)


def _print_campaigns(tables: dict[str, Any]) -> None:
    from rich.table import Table

    ready, revenue = tables["campaign_sales_ready"], tables["campaign_revenue"]
    if not len(ready):
        console.print("no touch carries a campaign: see the channel and lead-source tables")
        return
    costs = tables.get("campaign_costs")
    ros = costs.set_index("campaign")["return_on_spend"] if costs is not None else None
    table = Table(title="Campaigns (position-based attribution)")
    width = max(len(str(name)) for name in ready["campaign"])
    table.add_column("campaign", min_width=min(width, 40), no_wrap=True)
    for column in ("touches", "sales-ready", "per 1k touches", "won", "revenue",
                   "revenue / spend"):  # fmt: skip
        table.add_column(column, justify="right")
    for row, won in zip(ready.itertuples(), revenue.itertuples(), strict=True):
        gain = ros.get(row.campaign) if ros is not None else None
        table.add_row(
            str(row.campaign), f"{row.touches:,}", f"{row.sales_ready_position_based:,.1f}",
            f"{row.sales_ready_per_1k_touches:.2f}", f"{won.won_position_based:,.1f}",
            f"{won.revenue_position_based:,.0f}", "–" if gain is None else f"{gain:.2f}×",
            style="dim" if row.small else None,
        )  # fmt: skip
    console.print(table)
