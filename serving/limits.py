"""Request limits and the translation of bad input into 4xx answers that name the field.

Two ASGI middlewares sit in front of the BentoML routes:

- :class:`BodyLimitMiddleware` refuses bodies above a byte budget with 413 before anything
  parses them (declared ``Content-Length`` or, for chunked uploads, counted while reading).
- :class:`ValidationErrorMiddleware` turns BentoML's generic ``400`` for a pydantic error into
  ``422`` with one line per problem, e.g. ``leads[3].events[7].occurred_at: Input should
  have timezone info``. A CRM integrator reads that line and knows what to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_LEADS_PER_REQUEST = 1000
MAX_EVENTS_PER_LEAD = 5000
MAX_OUTCOMES_PER_LEAD = 500
MAX_ATTRIBUTES_PER_LEAD = 200
MAX_EXPLAIN = 20
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
_FIELD_PREFIX = re.compile(r"^[A-Za-z_][\w\[\]\.]*: ")


def format_location(loc: Sequence[str | int]) -> str:
    """Render a pydantic error location as a path: ``("leads", 3, "as_of")`` -> ``leads[3].as_of``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def describe_errors(errors: Iterable[dict[str, Any]]) -> list[str]:
    """One ``field: message`` line per pydantic error (inputs are never echoed back)."""
    lines = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part not in ("body",)]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        lines.append(f"{format_location(loc)}: {message}")
    return lines


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Answer 413 to request bodies larger than ``max_bytes``; replay smaller ones intact."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, declared)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, size)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, size: int) -> None:
        await _send_json(
            send,
            413,
            {
                "error": "request body too large",
                "detail": [
                    f"body: {size} bytes or more, at most {self.max_bytes} bytes per request; "
                    f"send at most {MAX_LEADS_PER_REQUEST} leads in smaller batches"
                ],
            },
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ValidationErrorMiddleware:
    """Rewrite BentoML's ``400`` validation answers on ``paths`` into ``422`` naming fields.

    BentoML answers a pydantic ``ValidationError`` with ``400`` and a list of raw errors. The
    HTTP contract of this service is ``422`` with readable ``field: message`` lines; other
    responses pass through untouched (only 400s are buffered, and they are small).
    """

    def __init__(self, app: ASGIApp, paths: Sequence[str] = ()) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        buffered: list[bytes] = []

        async def intercept(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] == 400:
                start = message
                return
            if start is None:
                await send(message)
                return
            buffered.append(message.get("body", b""))
            if not message.get("more_body", False):
                await _send_json(send, 422, rewrite_validation_body(b"".join(buffered)))

        await self.app(scope, receive, intercept)


def rewrite_validation_body(body: bytes) -> dict[str, Any]:
    """Turn BentoML's 400 body into ``{"error": ..., "detail": ["field: message", ...]}``."""
    try:
        payload = json.loads(body)
    except ValueError:
        return {"error": "invalid request", "detail": ["body: could not be parsed"]}
    if isinstance(payload, list):  # BentoML wraps some error bodies in a 1-tuple
        payload = payload[0] if payload else {}
    if not isinstance(payload, dict):
        return {"error": "invalid request", "detail": ["body: invalid request"]}
    detail = payload.get("detail")
    if isinstance(detail, list) and all(isinstance(item, dict) for item in detail):
        lines = describe_errors(detail)
        return {"error": f"{len(lines)} invalid field(s)", "detail": lines}
    error = str(payload.get("error", "invalid"))
    # Messages that already start with a field path (``leads: ...``) keep it; others get
    # ``body:`` so every line names where the problem is.
    line = error if _FIELD_PREFIX.match(error) else f"body: {error}"
    return {"error": "invalid request", "detail": [line]}
