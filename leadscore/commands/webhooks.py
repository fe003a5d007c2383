"""`leadscore webhooks ...`: who is told when a lead becomes sales-ready or re-emerges.

Subscriptions live in the lead store (``LEADSCORE_STORE_URL``, default the SQLite file in the
data directory); the service delivers them. The same as ``POST/GET/DELETE /webhooks`` with an
admin key.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from common.settings import Settings

console = Console(stderr=True)
app = typer.Typer(
    help="Webhook subscriptions: signed alerts (lead.sales_ready, lead.reemerged, "
    "lead.tier_changed, lead.score_changed, model.promoted, model.rolled_back) POSTed to your "
    "CRM or automation tool.",
    no_args_is_help=True,
)


def _alerts(settings: Settings):  # type: ignore[no-untyped-def]
    from leadscore.commands.store import open_store
    from store.alert_store import AlertStore

    store = open_store(settings)
    return store, AlertStore(store.db)


@app.command()
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to POST alerts (http or https).")],
    events: Annotated[
        list[str],
        typer.Option("--event", "-e", help="An alert type to receive (repeat the option)."),
    ],
    min_tier: Annotated[
        str | None, typer.Option(help="Only lead alerts of leads in this tier or better (A-D).")
    ] = None,
) -> None:
    """Subscribe URL to alerts; prints the subscription and its signing secret (shown once:
    the receiver verifies signatures with it)."""
    from store.lead_schema import FieldError

    store, alerts = _alerts(ctx.obj)
    try:
        made = alerts.subscribe(url, events, min_tier)
    except FieldError as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    finally:
        store.close()
    print(json.dumps(made, indent=2))
    console.print("Keep the secret: it is not shown again.")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List subscriptions (URLs with credentials masked, no secrets)."""
    store, alerts = _alerts(ctx.obj)
    try:
        rows = alerts.subscriptions()
    finally:
        store.close()
    table = Table("url", "events", "min tier", "enabled")
    table.add_column("id", no_wrap=True)  # copied into `remove` and `replay`: never wrapped
    for row in rows:
        enabled = "yes" if row["enabled"] else f"no ({row['disabled_reason']})"
        table.add_row(
            row["url"], ", ".join(row["events"]), row["min_tier"] or "-", enabled, row["id"]
        )
    Console().print(table)


@app.command()
def remove(
    ctx: typer.Context, subscription_id: Annotated[str, typer.Argument(help="Subscription id.")]
) -> None:
    """Remove a subscription (its undelivered alerts are not sent)."""
    store, alerts = _alerts(ctx.obj)
    try:
        removed = alerts.unsubscribe(subscription_id)
    finally:
        store.close()
    if not removed:
        console.print(f"[red]no webhook subscription {subscription_id!r}[/red]")
        raise typer.Exit(code=1)
    console.print(f"removed {subscription_id}")


@app.command()
def replay(
    ctx: typer.Context, subscription_id: Annotated[str, typer.Argument(help="Subscription id.")]
) -> None:
    """Queue a subscription's dead letters again (and enable it if a 410 disabled it)."""
    store, alerts = _alerts(ctx.obj)
    try:
        if alerts.subscription(subscription_id) is None:
            console.print(f"[red]no webhook subscription {subscription_id!r}[/red]")
            raise typer.Exit(code=1)
        queued = alerts.replay(subscription_id)
    finally:
        store.close()
    console.print(f"{queued} alerts queued again for {subscription_id}")
