"""Graceful stop: on SIGTERM a worker stops accepting, answers what it accepted, then exits.

``bentoml serve``'s arbiter (circus) sends SIGTERM to every worker and waits for them; each
worker is a uvicorn server whose own shutdown closes *its* copy of the shared listening socket
and at once closes every connection without a request in progress. Two things then reset
requests (measured: 16 of 16 clients reset under SIGTERM):

- the arbiter keeps its copy of the listening socket open until the workers are gone, so the
  kernel keeps completing handshakes nobody will accept, and resets them all at the end;
- a connection whose request is still in the socket buffer (a keep-alive client that sent its
  next request a moment ago, or a connection just accepted) looks idle and is closed unread.

:func:`install_graceful_stop` wraps ``uvicorn.Server.shutdown`` so that a worker first

1. marks the process draining: ``/readyz`` answers 503 and every response carries
   ``Connection: close`` (see :mod:`serving.connections`), so clients reconnect instead of
   reusing a connection that is about to close;
2. stops its own accept loop, waits ``HANDOVER_SECONDS`` for its sibling workers (signalled at
   the same moment) to stop theirs, accepts what the kernel already queued and shuts the
   listening socket down for every process holding it: from then on a client's connect is
   refused (it can go elsewhere) instead of hanging and being reset;
3. waits until every connection has been answered and closed (idle keep-alive connections
   close after uvicorn's keep-alive timeout), at most ``drain_seconds``;

and only then runs uvicorn's own shutdown (which now finds nothing left to cut, cancels what
outlives the deadline, and runs the service's shutdown hook: the score log is flushed there).
Written against uvicorn 0.54.0 (``Server.shutdown``, ``server_state``, ``config``) and
BentoML 1.4.39's worker (one uvicorn server per worker on the arbiter's socket), both pinned in
requirements.lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import threading
import time
from typing import Any

logger = logging.getLogger(__name__)

HANDOVER_SECONDS = 0.5
_DRAINING = threading.Event()
_INSTALLED = "_leadscore_graceful_stop"


def draining() -> bool:
    """True once this process has been asked to stop."""
    return _DRAINING.is_set()


def install_graceful_stop(drain_seconds: float) -> None:
    """Wrap ``uvicorn.Server.shutdown`` in this process (idempotent)."""
    import uvicorn

    if getattr(uvicorn.Server.shutdown, _INSTALLED, False):
        return
    original = uvicorn.Server.shutdown

    @functools.wraps(original)
    async def shutdown(server: Any, sockets: list[socket.socket] | None = None) -> None:
        deadline = time.monotonic() + drain_seconds
        await drain(server, deadline)
        server.config.timeout_graceful_shutdown = max(1, round(deadline - time.monotonic()))
        await original(server, sockets)

    setattr(shutdown, _INSTALLED, True)
    uvicorn.Server.shutdown = shutdown  # type: ignore[method-assign]


async def drain(server: Any, deadline: float) -> None:
    """Steps 1-3 of the module docstring for one uvicorn ``server``."""
    _DRAINING.set()
    listeners = [
        socket.fromfd(held.fileno(), held.family, held.type)  # our own descriptor
        for asyncio_server in server.servers
        for held in asyncio_server.sockets
    ]
    for asyncio_server in server.servers:
        asyncio_server.close()  # this worker accepts no more (the kernel still queues)
    await asyncio.sleep(HANDOVER_SECONDS)
    queued = [conn for listener in listeners for conn in _stop_listening(listener)]
    loop = asyncio.get_running_loop()
    protocol = functools.partial(
        server.config.http_protocol_class,
        config=server.config,
        server_state=server.server_state,
        app_state=server.lifespan.state,
    )
    for conn in queued:
        await loop.connect_accepted_socket(protocol, conn)
    logger.info(
        "stopping: %d connections to answer (at most %.0f s)",
        len(server.server_state.connections),
        max(0.0, deadline - time.monotonic()),
    )
    while server.server_state.connections and time.monotonic() < deadline:
        if server.force_exit:  # a second Ctrl+C: uvicorn's own shutdown cuts what is left
            return
        await asyncio.sleep(0.05)


def _stop_listening(listener: socket.socket) -> list[socket.socket]:
    """Accept every connection the kernel queued, then shut the socket down (for every process
    that holds it), with nothing in between that could let a connection in unanswered."""
    accepted: list[socket.socket] = []
    listener.setblocking(False)
    try:
        while True:
            accepted.append(listener.accept()[0])
    except OSError:
        pass  # nothing queued (EAGAIN), or a sibling worker shut it down first (EINVAL)
    with contextlib.suppress(OSError):  # already shut down by a sibling worker
        listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    return accepted
