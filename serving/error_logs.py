"""What a bad request leaves in the log: one line at WARNING, naming where, never the input.

BentoML logs every exception of an API call at ERROR with its traceback, and a pydantic
``ValidationError``'s text carries each bad ``input_value`` (names, emails, phone numbers from
the request). A client error is not the service's error: :class:`ClientErrorFilter` rewrites
those records into one line (status, route, the fields' locations); server errors keep their
traceback, with pydantic's input values cut out.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import ValidationError

from serving.limits import format_location

# The logger of BentoML's ``log_exception`` ("Exception on /score [POST]").
BENTOML_API_LOGGER = "bentoml._internal.server.http_app"
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=|\]$|$)", re.MULTILINE)


def client_status(exc: BaseException | None) -> int | None:
    """The 4xx an exception stands for (None: a server error or no exception)."""
    if isinstance(exc, ValidationError):
        return 400
    status = getattr(getattr(exc, "error_code", None), "value", None)
    if isinstance(status, int) and 400 <= status < 500:
        return status
    return None


def describe(exc: BaseException) -> str:
    """Where the input was wrong, without what it was."""
    if isinstance(exc, ValidationError):
        places = [format_location(e["loc"]) for e in exc.errors(include_input=False)[:5]]
        return f"{exc.error_count()} invalid field(s): {', '.join(places)}"
    return type(exc).__name__


class ClientErrorFilter(logging.Filter):
    """One WARNING line per client error; input values cut from any other traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        status = client_status(exc)
        if exc is not None and status is not None:
            record.msg = "client error %s: %s %s"
            record.args = (status, _route(record), describe(exc))
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        elif exc is not None:
            record.exc_text = _INPUT_VALUE.sub("input_value=<hidden>", _format(record))
        return True


def _route(record: logging.LogRecord) -> str:
    args: Any = record.args
    if isinstance(args, tuple) and len(args) == 2:
        return f"{args[1]} {args[0]}"  # log_exception's (path, method): API routes, no ids
    return "request"


def _format(record: logging.LogRecord) -> str:
    return logging.Formatter().formatException(record.exc_info) if record.exc_info else ""


def install_client_error_filter() -> None:
    """Attach the filter to BentoML's API error logger (once per process)."""
    logger = logging.getLogger(BENTOML_API_LOGGER)
    if not any(isinstance(f, ClientErrorFilter) for f in logger.filters):
        logger.addFilter(ClientErrorFilter())
