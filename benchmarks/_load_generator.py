"""The HTTP load generator of ``benchmarks/serving.py`` and ``benchmarks/store.py`` (not a
benchmark itself): concurrent keep-alive clients on one asyncio loop, in a process of their own
so they share no interpreter with the server under test."""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

import numpy as np


def _load_worker(
    url: str,
    headers: dict[str, str],
    bodies: list[bytes],
    clients: int,
    seconds: float,
    queue: Any,
    paths: list[str] | None = None,
) -> None:
    """``clients`` concurrent keep-alive connections on one asyncio loop, speaking plain
    HTTP/1.1 over sockets: a Python HTTP client (httpx) cost about as much CPU per request as
    the server under test, and this machine has two cores for both. With ``paths``, GET
    requests to each path in turn (``bodies`` unused)."""
    import asyncio
    from urllib.parse import urlparse

    target = urlparse(url)
    # The headers httpx sends by default, so both servers see what real clients send.
    defaults = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
    head = "".join(f"{k}: {v}\r\n" for k, v in {**defaults, **headers}.items())
    requests = [
        (
            (
                f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n{head}"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode(),
            body,
        )
        for body in bodies
    ]
    if paths is not None:
        requests = [
            (f"GET {path} HTTP/1.1\r\nHost: {target.netloc}\r\n{head}\r\n".encode(), b"")
            for path in paths
        ]
    sent = 0
    latencies: list[float] = []
    errors = 0

    async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
        """Status and whether the server closes the connection after this response."""
        status = int((await reader.readline()).split()[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if not chunked:
            await reader.readexactly(length)
            return status, close
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
        return status, close

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        import socket

        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        # As HTTP client libraries do: no Nagle delay on small requests.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer

    async def client(i: int, stop_at: float) -> None:
        nonlocal errors, sent
        reader, writer = await connect()
        k = i
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            # Headers and body in two writes, as HTTP clients (h11/httpx, curl) send them: one
            # combined write met a 40 ms delayed-ACK stall in gunicorn-served MLflow.
            for part in requests[k % len(requests)]:
                if part:
                    writer.write(part)
            k += clients
            sent = max(sent, k)
            try:
                status, close = await read_response(reader)
                ok = status == 200
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                ok, close = False, True
            if close:  # as any HTTP client does: a new connection for the next request
                writer.close()
                reader, writer = await connect()
            latencies.append(time.perf_counter() - started)
            errors += 0 if ok else 1
        writer.close()

    async def main() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(client(i, started + seconds) for i in range(clients)))
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    queue.put(
        {
            "latencies": latencies,
            "errors": errors,
            "elapsed": elapsed,
            "repeated": sent > len(requests),
        }
    )


def measure(
    url: str,
    headers: dict[str, str],
    bodies: list[bytes],
    clients: int,
    seconds: float,
    paths: list[str] | None = None,
) -> dict[str, float]:
    """Drive ``url`` from a separate process; summarise requests/s and latency (and whether
    the requests ran out and some were sent again)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(
        target=_load_worker, args=(url, headers, bodies, clients, seconds, queue, paths)
    )
    process.start()
    result = queue.get(timeout=seconds + 600)
    process.join()
    lat = np.asarray(result["latencies"]) * 1000.0
    n = len(lat)
    return {
        "requests": n,
        "errors": int(result["errors"]),
        "req_per_s": n / result["elapsed"],
        "p50_ms": float(np.percentile(lat, 50)) if n else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if n else float("nan"),
        "repeated": bool(result["repeated"]),
    }
