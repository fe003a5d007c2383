"""Helpers of ``benchmarks/alerts.py`` (not a benchmark itself): the paced ingest that runs in a
process of its own, and the service, receiver and probes of one run."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from alert_support import Receiver, wait_until
from serving_support import RunningService, free_port, start_process, wait_ready

KEY = "benchmark-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
BACKGROUND = 2_000
BATCH = 100


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def paced_load(url: str, rate: int, seconds: float, counts: Any) -> None:
    """``rate`` events/s as batches of ``BATCH`` email sends (they change a lead, so it is
    rescored, but never its score) to the background leads, one batch every BATCH/rate s."""

    async def run() -> None:
        rng = np.random.default_rng(0)
        interval, start = BATCH / rate, time.monotonic()
        async with httpx.AsyncClient(timeout=30, headers=AUTH) as client:
            tasks, n = set(), 0
            while time.monotonic() - start < seconds:
                leads = rng.integers(0, BACKGROUND, BATCH)
                body = {"events": [{"lead_id": f"bg{i}", "event_type": "email_send",
                                    "occurred_at": now_iso()} for i in leads]}  # fmt: skip
                task = asyncio.create_task(send_batch(client, url, body, counts))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
                await asyncio.sleep(max(0.0, start + n * interval - time.monotonic()))
            await asyncio.gather(*tasks)

    asyncio.run(run())


async def send_batch(client: httpx.AsyncClient, url: str, body: dict, counts: Any) -> None:
    try:
        answer = await client.post(f"{url}/events", json=body)
        ok = answer.status_code == 200
    except httpx.HTTPError:
        ok = False
    with counts.get_lock():
        counts[0 if ok else 1] += len(body["events"]) if ok else 1


class Bench:
    """One service (restartable) on one store, a receiver, and the probes' bookkeeping."""

    def __init__(self, folder: Path, store_url: str | None) -> None:
        self.folder = folder
        self.env = {
            "LEADSCORE_API_KEYS": KEY, "LEADSCORE_RESCORE_SECONDS": "0.1",
            "LEADSCORE_WEBHOOK_POLL_SECONDS": "0.1", "LEADSCORE_WEBHOOK_RETRY_SECONDS": "0.5",
            "LEADSCORE_WEBHOOK_RETRY_MAX_SECONDS": "2", "LEADSCORE_RELOAD_SECONDS": "5",
        }  # fmt: skip
        if store_url:
            self.env["LEADSCORE_STORE_URL"] = store_url
        self.receiver = Receiver(folder / "receiver")
        self.process: Any = None
        self.port = free_port()  # kept across restarts: the paced load keeps sending there
        self.url = f"http://127.0.0.1:{self.port}"
        self.sent: dict[str, float] = {}  # probe lead -> when its events were acknowledged

    def start(self) -> None:
        log = self.folder / f"serve-{time.monotonic_ns()}.log"
        self.process = start_process(self.folder, self.port, log, self.env)
        wait_ready(RunningService(self.url, self.process, log), 300)

    def kill_9(self) -> None:
        tree = psutil.Process(self.process.pid)
        for process in [*tree.children(recursive=True), tree]:
            os.kill(process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def post(self, kind: str, items: list[dict], retry: bool = False) -> bool:
        while True:
            try:
                answer = httpx.post(
                    f"{self.url}/{kind}", json={kind: items}, headers=AUTH, timeout=30
                )
                if answer.status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            if not retry:
                return False
            time.sleep(0.2)

    def subscribe(self, path: str, events: list[str]) -> str:
        body = {"url": f"{self.receiver.url}{path}", "events": events}
        made = httpx.post(f"{self.url}/webhooks", json=body, headers=AUTH).json()
        self.receiver.trust(path, made["secret"])
        return made["id"]

    def leads(self, ids: list[str], industry: str) -> None:
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            self.post(
                "leads", [{"lead_id": i, "attributes": {"industry": industry}} for i in chunk]
            )

    def settled(self) -> None:
        """Wait until every stored lead has its current score."""

        def check() -> bool:
            stats = httpx.get(f"{self.url}/stats", headers=AUTH, timeout=30).json()
            return stats["leads_awaiting_score"] == 0

        wait_until(check, 600, "leads scored")

    def probe(self, lead_id: str) -> None:
        """Three demo requests: the probe lead becomes sales-ready (retried until stored)."""
        events = [{"lead_id": lead_id, "event_type": "demo_request", "occurred_at": now_iso()}] * 3
        self.post("events", events, retry=True)
        self.sent[lead_id] = time.time()

    def received(self, path: str) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for row in self.receiver.records(path=path):
            out.setdefault(row["payload"]["data"]["lead_id"], []).append(row["received_at"])
        return out
