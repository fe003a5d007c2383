"""The `leadscore` command line: a thin layer over the packages' pure functions.

Every command receives the one :class:`Settings` object through ``ctx.obj``; options given on
the command line override environment variables (``LEADSCORE_*``), which override defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from common.settings import Settings
from leadscore.commands import register_commands

app = typer.Typer(
    name="leadscore",
    help="Open, leak-free, explainable lead scoring: simulate or load CRM data, build "
    "point-in-time features, train and validate LightGBM models in MLflow, serve scores.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder holding the dataset files (env LEADSCORE_DATA_DIR)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for every random choice (env LEADSCORE_SEED).")
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(help="MLflow tracking URI (env LEADSCORE_MLFLOW_TRACKING_URI)."),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also show the libraries' INFO logs and progress bars."
        ),
    ] = False,
) -> None:
    """Build the Settings once, set up the output, and hand the Settings to the command."""
    from leadscore.output import configure_output

    configure_output(verbose)

    overrides = {
        key: value
        for key, value in {
            "data_dir": data_dir,
            "seed": seed,
            "mlflow_tracking_uri": tracking_uri,
        }.items()
        if value is not None
    }
    ctx.obj = Settings(**overrides)
    # MLflow reads its HTTP timeouts from the environment, in this process and in the service.
    for name, value in ctx.obj.mlflow_environment().items():
        os.environ.setdefault(name, value)


register_commands(app)


if __name__ == "__main__":  # pragma: no cover
    app()
