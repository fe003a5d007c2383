"""Keep-alive recycling: the n-th response on a connection says ``Connection: close`` (and only
that one), other connections keep their own count, and non-HTTP scopes pass through."""

from __future__ import annotations

import asyncio

import pytest

from serving.connections import ConnectionRecycleMiddleware


async def _app(scope, receive, send) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"connection", b"keep-alive")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _request(middleware, client) -> list[tuple[bytes, bytes]]:
    sent: list[dict] = []

    async def send(message) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "client": client, "path": "/score"}
    asyncio.run(middleware(scope, receive, send))
    assert sent[1]["body"] == b"ok"  # the body is untouched
    return sent[0]["headers"]


def test_every_nth_response_closes_its_connection() -> None:
    middleware = ConnectionRecycleMiddleware(_app, max_requests=3)
    a, b = ("10.0.0.1", 5000), ("10.0.0.1", 5001)
    closes = []
    for _ in range(7):
        closes.append((b"connection", b"close") in _request(middleware, a))
    assert closes == [False, False, True, False, False, True, False]
    assert _request(middleware, b) == [(b"connection", b"keep-alive")]  # its own count
    closing = [
        h for h in _request(middleware, a) + _request(middleware, a) if h[0] == b"connection"
    ]
    assert (b"connection", b"keep-alive") not in closing[1:]  # replaced, never duplicated


def test_lifespan_and_clientless_scopes_pass_through() -> None:
    seen = []

    async def app(scope, receive, send) -> None:
        seen.append(scope["type"])

    middleware = ConnectionRecycleMiddleware(app, max_requests=1)
    asyncio.run(middleware({"type": "lifespan"}, None, None))
    asyncio.run(middleware({"type": "http", "client": None}, None, None))
    assert seen == ["lifespan", "http"]
    with pytest.raises(ValueError, match="max_requests"):
        ConnectionRecycleMiddleware(app, max_requests=0)
