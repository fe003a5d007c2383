"""`leadscore ... --help`: every command's help reads as whole sentences."""

from __future__ import annotations

import click
import typer.main

from leadscore.cli import app


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    found = {" ".join(path): command}
    for name, sub in getattr(command, "commands", {}).items():
        found.update(_commands(sub, (*path, name)))
    return found


def test_every_command_has_help_with_one_line_per_paragraph() -> None:
    """typer prints the line breaks of a help text's later paragraphs as they are: a
    docstring wrapped at 100 columns came out as lines cut mid-sentence."""
    commands = _commands(typer.main.get_command(app))
    assert {"features build", "score", "evaluate", "serve"} <= set(commands)
    for path, command in commands.items():
        help_text = command.help or ""
        assert help_text.strip(), f"`leadscore {path}` has no help"
        for paragraph in help_text.split("\n\n"):
            assert "\n" not in paragraph, f"`leadscore {path}`: {paragraph!r}"
