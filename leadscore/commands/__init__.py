"""CLI command groups. Each module defines typer commands and imports heavy libraries inside
the commands, so `leadscore --help` stays instant."""

from __future__ import annotations

import importlib
import inspect

import typer

# (module, attribute, group). A module's typer `app` becomes a sub-command group; a function
# is registered as a top-level command.
_COMMANDS: list[tuple[str, str, str | None]] = [
    # In the order of the workflow: data -> features -> model -> validation -> use.
    ("leadscore.commands.data", "init", None),
    ("leadscore.commands.data", "simulate", None),
    ("leadscore.commands.data", "validate", None),
    ("leadscore.commands.store", "app", "store"),
    ("leadscore.commands.features", "app", "features"),
    ("leadscore.commands.training", "train", None),
    ("leadscore.commands.evaluate", "evaluate", None),
    ("leadscore.commands.report", "app", "report"),
    ("leadscore.commands.registry", "promote", None),
    ("leadscore.commands.registry", "rollback", None),
    ("leadscore.commands.registry", "models", None),
    ("leadscore.commands.training", "retrain", None),
    ("leadscore.commands.scoring", "score", None),
    ("leadscore.commands.serve", "serve", None),
    ("leadscore.commands.webhooks", "app", "webhooks"),
    ("leadscore.commands.demo", "demo", None),
]


def register_commands(app: typer.Typer) -> None:
    """Attach every command to the root app."""
    for module_name, attribute, group in _COMMANDS:
        target = getattr(importlib.import_module(module_name), attribute)
        if group is None:
            app.command(help=help_text(target.__doc__))(target)
        else:
            for command in target.registered_commands:
                command.help = command.help or help_text(command.callback.__doc__)
            app.add_typer(target, name=group)


def help_text(docstring: str | None) -> str | None:
    """A command's docstring with each paragraph on one line: typer's rich help rewraps the
    first paragraph to the terminal but prints the line breaks of the others as they are,
    which cut lines short in the middle of a sentence."""
    if docstring is None:
        return None
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)
