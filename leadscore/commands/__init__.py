"""CLI command groups. Each module defines typer commands and imports heavy libraries inside
the commands, so `leadscore --help` stays instant."""

from __future__ import annotations

import importlib

import typer

# (module, attribute, group). A module's typer `app` becomes a sub-command group; a function
# is registered as a top-level command.
_COMMANDS: list[tuple[str, str, str | None]] = [
    # In the order of the workflow: data -> features -> model -> validation -> use.
    ("leadscore.commands.data", "simulate", None),
    ("leadscore.commands.data", "validate", None),
    ("leadscore.commands.features", "app", "features"),
    ("leadscore.commands.training", "train", None),
    ("leadscore.commands.evaluate", "evaluate", None),
    ("leadscore.commands.registry", "promote", None),
    ("leadscore.commands.registry", "rollback", None),
    ("leadscore.commands.registry", "models", None),
    ("leadscore.commands.training", "retrain", None),
    ("leadscore.commands.scoring", "score", None),
    ("leadscore.commands.serve", "serve", None),
    ("leadscore.commands.demo", "demo", None),
]


def register_commands(app: typer.Typer) -> None:
    """Attach every command to the root app."""
    for module_name, attribute, group in _COMMANDS:
        target = getattr(importlib.import_module(module_name), attribute)
        if group is None:
            app.command()(target)
        else:
            app.add_typer(target, name=group)
