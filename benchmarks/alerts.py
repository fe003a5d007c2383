"""Alerts end to end through a real ``bentoml serve`` (2 workers) to a real receiver process
(``tests/support/webhook_receiver.py``: verifies every signature with ``standardwebhooks``):

- latency: a steady ingest of ``--rate`` events/s (``POST /events``, batches of 100, spread
  over 2,000 leads, paced from a process of its own) and, twice a second, a probe lead that
  becomes sales-ready (three demo requests in one request); event in -> webhook received,
  p50 and p99 over the probes;
- deliveries/s: 3,000 ``lead.sales_ready`` alerts kept as dead letters (the receiver's first
  answer is 410 Gone, which disables the subscription) are released at once
  (``POST /webhooks/{id}/replay``); the time until the receiver has them all; next to it, in
  the same run, the peer: the same number of signed POSTs sent straight to the same receiver
  from one asyncio client with as many connections as the service's workers claim at once;
- lost alerts: the steady ingest and probes go on for ``--outage + 30`` s while the receiver
  is down for ``--outage`` s (connection refused) and the service is killed with SIGKILL
  (every process) and started again in the middle; probes not acknowledged are sent again
  (as CDPs retry). Lost = probes acknowledged without an alert received; duplicates counted.

The model is the test suite's stand-in whose score follows the last 30 days' engagement
(``tests/support/stub_window_model.py``), so probes cross the threshold by construction.

Usage: ``python benchmarks/alerts.py [--quick] [--postgresql]``; writes
``benchmarks/results/alerts.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

from _alert_load import AUTH, BACKGROUND, Bench, now_iso, paced_load  # noqa: E402
from alert_support import Receiver, wait_until  # noqa: E402  (tests/support, after the path)
from postgres_server import running_postgres  # noqa: E402
from serving_support import register_stub, stop  # noqa: E402

from serving.webhook_sender import signed_headers  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "alerts.json"
WINDOW_MODEL = ROOT / "tests" / "support" / "stub_window_model.py"


def _steady(bench: Bench, rate: int, seconds: float, probes: list[str], events: list) -> Any:
    """Run the paced load in its own process while probing twice a second."""
    counts = mp.get_context("spawn").Array("l", 2)
    load = mp.get_context("spawn").Process(
        target=paced_load, args=(bench.url, rate, seconds, counts)
    )
    load.start()
    start = time.monotonic()
    for i, lead_id in enumerate(probes):
        for at, action in events:
            if at <= time.monotonic() - start:
                action()
        events[:] = [(at, act) for at, act in events if at > time.monotonic() - start]
        time.sleep(max(0.0, start + i * 0.5 - time.monotonic()))
        bench.probe(lead_id)
    load.join()
    return {"events_acknowledged": counts[0], "failed_requests": counts[1],
            "seconds": round(time.monotonic() - start, 1)}  # fmt: skip


def _peer(receiver: Receiver, secret: str, n: int, connections: int) -> float:
    """Deliveries/s of plain signed POSTs straight to the receiver."""
    body = json.dumps({"type": "lead.sales_ready", "data": {"lead_id": "peer"}})

    async def run() -> float:
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            semaphore = asyncio.Semaphore(connections)

            async def one(i: int) -> None:
                async with semaphore:
                    headers = signed_headers(secret, f"peer-{i}", body, datetime.now(UTC))
                    (
                        await client.post(f"{receiver.url}/peer", content=body, headers=headers)
                    ).raise_for_status()

            start = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            return n / (time.perf_counter() - start)

    return asyncio.run(run())


def run(folder: Path, store_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(folder, store_url)
    register_stub(folder, code=WINDOW_MODEL)
    bench.receiver.start()
    bench.start()
    result: dict[str, Any] = {}
    try:
        n_probes = int(args.seconds * 2)
        outage_probes = int((args.outage + 30) * 2)
        bench.leads([f"bg{i}" for i in range(BACKGROUND)], "retail")
        bench.leads([f"p{i}" for i in range(n_probes + outage_probes)], "software")
        bench.settled()
        bench.subscribe("/bench", ["lead.sales_ready"])
        # 1. Latency at a steady ingest.
        probes = [f"p{i}" for i in range(n_probes)]
        load = _steady(bench, args.rate, args.seconds, probes, [])
        got = wait_until(
            lambda: len(bench.received("/bench")) >= len(probes) and bench.received("/bench"), 120
        )
        ms = np.array([got[p][0] - bench.sent[p] for p in probes]) * 1000
        result["latency"] = _done("latency", {
            "rate_events_per_s": args.rate, "load": load, "probes": len(probes),
            "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1), "max_ms": round(float(ms.max()), 1),
        })  # fmt: skip
        # 2. Deliveries/s: a backlog released at once, against the peer.
        httpx.delete(f"{bench.url}/webhooks/{_only(bench)}", headers=AUTH)
        backlog = [f"d{i}" for i in range(args.backlog)]
        bench.leads(backlog, "software")
        bench.settled()
        bench.receiver.mode("/drain", "410")  # the first answer disables the subscription
        drain = bench.subscribe("/drain", ["lead.sales_ready"])
        for start in range(0, len(backlog), 500):
            bench.post("events", [{"lead_id": i, "event_type": "demo_request", "occurred_at": now_iso()}
                                  for i in backlog[start : start + 500] for _ in range(3)])  # fmt: skip
        bench.settled()
        time.sleep(2)
        bench.receiver.mode("/drain", "ok")
        started = time.perf_counter()
        replay = httpx.post(f"{bench.url}/webhooks/{drain}/replay", headers=AUTH)
        released = replay.raise_for_status().json()["queued"]
        wait_until(lambda: bench.receiver.count("/drain") >= released, 300, "replayed alerts")
        drain_rate = released / (time.perf_counter() - started)
        secret = json.loads((bench.receiver.folder / "secrets.json").read_text())["/drain"]
        bench.receiver.trust("/peer", secret)
        peer_rate = _peer(bench.receiver, secret, released, 2 * 50)
        httpx.delete(f"{bench.url}/webhooks/{drain}", headers=AUTH)
        result["deliveries"] = _done("deliveries", {
            "leads": args.backlog, "alerts": released, "deliveries_per_s": round(drain_rate, 1),
            "peer_direct_posts_per_s": round(peer_rate, 1),
            "ratio_to_peer": round(drain_rate / peer_rate, 2),
        })  # fmt: skip
        # 3. Lost alerts across a receiver outage and a kill -9.
        bench.subscribe("/outage", ["lead.sales_ready"])
        outage = [f"p{i}" for i in range(n_probes, n_probes + outage_probes)]

        def restart() -> None:
            bench.kill_9()
            bench.start()

        events = [
            (10, bench.receiver.stop),
            (30, restart),
            (10 + args.outage, bench.receiver.start),
        ]
        outage_load = _steady(bench, args.rate, args.outage + 30, outage, events)
        deadline = time.monotonic() + 300  # then what has not come is counted as lost
        while len(received := bench.received("/outage")) < len(outage):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        result["outage_and_kill_9"] = _done("outage_and_kill_9", {
            "load": outage_load, "outage_seconds": args.outage, "probes": len(outage),
            "alerts_received": len(received), "lost": len(set(outage) - set(received)),
            "duplicates": sum(len(times) - 1 for times in received.values()),
        })  # fmt: skip
    finally:
        stop(bench.process)
        bench.receiver.stop()
    return result


def _done(phase: str, numbers: dict[str, Any]) -> dict[str, Any]:
    """Print a phase's numbers as soon as it ends: a later phase failing keeps them."""
    print(json.dumps({phase: numbers}), file=sys.stderr, flush=True)
    return numbers


def _only(bench: Bench) -> str:
    return httpx.get(f"{bench.url}/webhooks", headers=AUTH).json()["webhooks"][0]["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 s phases, a 20 s outage")
    parser.add_argument("--postgresql", action="store_true", help="a PostgreSQL store")
    parser.add_argument("--rate", type=int, default=1000, help="events/s of the steady ingest")
    parser.add_argument("--seconds", type=float, help="length of the latency phase")
    parser.add_argument("--outage", type=float, help="seconds the receiver is down")
    parser.add_argument("--backlog", type=int, help="alerts released at once")
    args = parser.parse_args()
    defaults = (20, 20, 1000) if args.quick else (60, 60, 3000)
    args.seconds = args.seconds or defaults[0]
    args.outage = args.outage or defaults[1]
    args.backlog = args.backlog or defaults[2]
    with tempfile.TemporaryDirectory(prefix="alerts-bench-") as tmp:
        if args.postgresql:
            with running_postgres() as server:
                result = run(Path(tmp), server.create_database(), args)
        else:
            result = run(Path(tmp), None, args)
    report = {
        "benchmark": "alerts", "store": "postgresql" if args.postgresql else "sqlite",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "when": datetime.now(UTC).isoformat(timespec="seconds"), **result,
    }  # fmt: skip
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous[report["store"] + ("-quick" if args.quick else "")] = report
    RESULTS.write_text(json.dumps(previous, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
