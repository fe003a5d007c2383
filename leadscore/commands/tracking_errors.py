"""One clear line, not a traceback, when the MLflow tracking store fails a command.

An unreachable server (after MLflow's timeout), a corrupted SQLite file or one locked by another
process surface from deep inside MLflow and SQLAlchemy as 200-300-line tracebacks. Commands
that talk to the registry run inside :func:`tracking_store_errors`, which prints what failed and
where (the URI without any password) and exits with status 2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def shown_uri(uri: str) -> str:
    """``uri`` without the user and password it may carry."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def failure_line(exc: BaseException) -> str:
    """The innermost useful message: the driver's or the HTTP client's, on one line."""
    seen: BaseException | None = exc
    while seen is not None and seen.__cause__ is not None:
        seen = seen.__cause__
    text = str(seen or exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    if "database disk image is malformed" in first or "file is not a database" in first:
        first += " (the SQLite file is corrupted: restore it from a backup)"
    elif "database is locked" in first:
        first += " (another process holds the SQLite file's lock: try again when it is done)"
    elif any(word in first for word in ("timed out", "Max retries", "Connection refused")):
        first = f"no answer ({first[:160]}); check the URI and that the server is up"
    return first[:400]


def _tracking_errors() -> tuple[type[BaseException], ...]:
    import requests
    import sqlalchemy.exc
    from mlflow.exceptions import MlflowException

    return (MlflowException, sqlalchemy.exc.SQLAlchemyError, requests.RequestException)


@contextmanager
def tracking_store_errors(uri: str) -> Iterator[None]:
    """Turn a failing tracking store into one line on stderr and exit status 2."""
    try:
        yield
    except _tracking_errors() as exc:
        console.print(
            f"[red]MLflow tracking store {escape(shown_uri(uri))} failed:[/red] "
            f"{escape(failure_line(exc))}",
            soft_wrap=True,  # one line, whatever the terminal's width
        )
        raise typer.Exit(code=2) from None


def with_tracking_store_errors(command: F) -> F:
    """Decorate a command taking ``ctx`` (its Settings in ``ctx.obj``) with the above."""

    @functools.wraps(command)
    def wrapper(ctx: typer.Context, *args: Any, **kwargs: Any) -> Any:
        with tracking_store_errors(ctx.obj.mlflow_tracking_uri):
            return command(ctx, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
