"""`leadscore serve`: run the BentoML scoring service on the registered champion.

The command checks what the service needs before starting it (an API key, a champion in the
registry), then runs ``bentoml serve serving.service:LeadScoreService`` with the settings
passed as ``LEADSCORE_*`` environment variables, and prints the URLs, the key to use and a
ready-to-paste ``curl``.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console

from common.settings import Settings, split_key
from leadscore.commands.model_choice import DatasetNameOption

console = Console(stderr=True)

SERVICE = "serving.service:LeadScoreService"


@dataclass(frozen=True)
class ServePlan:
    """Everything needed to start the service and tell the user how to reach it."""

    command: list[str]
    env: dict[str, str]
    base_url: str
    curl: str


def generate_api_key() -> str:
    """A fresh random bearer key (from the OS CSPRNG: a secret must not follow the seed)."""
    return secrets.token_urlsafe(24)


def plan_serve(
    settings: Settings, host: str, port: int, api_keys: list[str], model_name: str
) -> ServePlan:
    """Build the command, environment and example request for ``bentoml serve``; ``api_keys``
    as configured (each maybe with its scopes, ``KEY:read``)."""
    env = dict(os.environ)
    env.update(
        {
            "LEADSCORE_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
            "LEADSCORE_MODEL_NAME": model_name,
            "LEADSCORE_STORE_URL": settings.store_database_url(),
            "LEADSCORE_STORE_DATASET": settings.store_dataset,
            "LEADSCORE_SEED": str(settings.seed),
            "LEADSCORE_API_KEYS": ",".join(api_keys),
            "LEADSCORE_DATA_DIR": str(settings.data_dir.resolve()),
        }
    )
    shown_host = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
    base_url = f"http://{shown_host}:{port}"
    from serving.example_leads import example_leads

    # The demo's hot lead, dated from today (it requested a demo yesterday).
    body = json.dumps({"leads": [example_leads()["hot"]], "explain": 5})
    curl = (
        f"curl -s -X POST {base_url}/score "
        f"-H {shlex.quote('Authorization: Bearer ' + reading_key(api_keys))} "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )
    command = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host]
    command += ["--port", str(port)]
    return ServePlan(command=command, env=env, base_url=base_url, curl=curl)


def reading_key(api_keys: list[str]) -> str:
    """The first key that may read scores (the one the banner and the sales page link show)."""
    scoped = [split_key(key) for key in api_keys]
    return next((key for key, scopes in scoped if "read" in scopes), scoped[0][0])


def print_banner(plan: ServePlan, api_key: str) -> None:
    """Tell the user where everything is (stdout, so it can be copied)."""
    typer.echo(f"Scoring API    POST {plan.base_url}/score")
    typer.echo(f"Model info     GET  {plan.base_url}/model")
    typer.echo(f"A stored lead  GET  {plan.base_url}/leads/<lead_id>  (its score, events, history)")
    typer.echo(f"Segment API    POST {plan.base_url}/v1/batch  (write key: an API key)")
    typer.echo(f"Sales page          {plan.base_url}/sales#key={api_key}")
    typer.echo(f"API docs            {plan.base_url}/  (OpenAPI: {plan.base_url}/docs.json)")
    typer.echo(f"Health              {plan.base_url}/readyz  ·  metrics {plan.base_url}/metrics")
    typer.echo(f"API key             {api_key}")
    typer.echo(f"Try it:\n  {plan.curl}")


def serve(
    ctx: typer.Context,
    dataset: DatasetNameOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 3000,
    demo_key: Annotated[
        bool,
        typer.Option(
            "--demo-key",
            help="Generate a one-off API key when LEADSCORE_API_KEYS is empty (demos only).",
        ),
    ] = False,
) -> None:
    """Serve the registered champion over HTTP (BentoML) with API keys and hot reload."""
    from leadscore.commands.model_choice import dataset_name
    from models.model_names import model_name_for
    from serving.model_handle import ModelUnavailableError, resolve_version, served_model_name

    settings: Settings = ctx.obj
    keys = [key.get_secret_value() for key in settings.api_keys]  # with their scopes
    if not keys and demo_key:
        keys = [generate_api_key()]
    if not keys:
        console.print(
            "[red]no API keys configured[/red]: set LEADSCORE_API_KEYS=key1,key2 "
            "(or pass --demo-key for a throwaway key)"
        )
        raise typer.Exit(2)
    try:
        name = served_model_name(
            settings.mlflow_tracking_uri,
            settings.model_name or (model_name_for(dataset_name(dataset)) if dataset else None),
            store_dataset=settings.store_dataset,
        )
        version = resolve_version(settings.mlflow_tracking_uri, name, "champion")
    except ModelUnavailableError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    plan = plan_serve(settings, host, port, keys, name)
    console.print(f"serving models:/{name}@champion (v{version})")
    print_banner(plan, reading_key(keys))
    sys.stdout.flush()
    sys.stderr.flush()
    # Replace this process with the server so Ctrl+C and SIGTERM reach BentoML directly.
    os.execve(plan.command[0], plan.command, plan.env)
