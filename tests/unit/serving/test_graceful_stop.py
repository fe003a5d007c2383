"""Graceful stop's parts: the shared listening socket is stopped for every holder, with what
the kernel queued accepted first; responses close their connections once stopping."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from serving import graceful_stop
from serving.connections import ConnectionRecycleMiddleware


@pytest.fixture()
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


def test_queued_connections_are_accepted_and_new_ones_refused_for_every_holder(
    listener: socket.socket,
) -> None:
    address = listener.getsockname()
    clients = [socket.create_connection(address, timeout=5) for _ in range(3)]
    # The listener stays open in this process (as in bentoml's arbiter) while a worker's own
    # descriptor of it is stopped.
    accepted = graceful_stop._stop_listening(listener.dup())
    try:
        assert len(accepted) == 3
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, timeout=5)
        for client, server_side in zip(clients, accepted, strict=True):
            client.sendall(b"ping")
            assert server_side.recv(4) == b"ping"  # accepted for real, not reset
    finally:
        for sock in [*clients, *accepted]:
            sock.close()


def test_every_response_closes_its_connection_once_stopping() -> None:
    sent: list[dict] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]

    async def send(message: dict) -> None:
        sent.append(message)

    middleware = ConnectionRecycleMiddleware(app, max_requests=100)
    scope = {"type": "http", "client": ("127.0.0.1", 5000)}
    asyncio.run(middleware(scope, None, send))
    assert (b"connection", b"close") not in sent[-1]["headers"]
    graceful_stop._DRAINING.set()
    try:
        asyncio.run(middleware(scope, None, send))
    finally:
        graceful_stop._DRAINING.clear()
    assert (b"connection", b"close") in sent[-1]["headers"]
