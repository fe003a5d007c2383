"""Helpers for the alert tests: the service started with compressed retries and a stand-in
model, its routes, and a real webhook receiver process (``webhook_receiver.py``:
verifies signatures with the ``standardwebhooks`` library) that can be stopped, made to fail
and started again, and waits on what it received."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from serving_support import (
    API_KEY,
    RunningService,
    free_port,
    register_stub,
    start_process,
    stop,
    wait_ready,
)

RECEIVER = Path(__file__).resolve().parent / "webhook_receiver.py"


class Receiver:
    """One receiver process on a fixed port (so subscriptions outlive its restarts)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(RECEIVER), str(self.port), str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "receiver.log").open("ab"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url, timeout=1)  # any answer: it listens
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise TimeoutError("the webhook receiver did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def _update(self, name: str, path: str, value: str) -> None:
        file = self.folder / name
        values = json.loads(file.read_text()) if file.exists() else {}
        values[path] = value
        tmp = file.with_suffix(".tmp")
        tmp.write_text(json.dumps(values))
        tmp.replace(file)  # the receiver never reads half a file

    def trust(self, path: str, secret: str) -> None:
        self._update("secrets.json", path, secret)

    def mode(self, path: str, mode: str) -> None:
        self._update("modes.json", path, mode)

    def records(self, name: str = "received.jsonl", path: str | None = None) -> list[dict]:
        file = self.folder / name
        if not file.exists():
            return []
        rows = [json.loads(line) for line in file.read_text().splitlines() if line]
        return [row for row in rows if path is None or row.get("path") == path]

    def count(self, path: str) -> int:
        """Deliveries received at ``path`` (counted without parsing: cheap to poll)."""
        file = self.folder / "received.jsonl"
        if not file.exists():
            return 0
        return file.read_text().count(f'"path": "{path}"')

    def wait_for(
        self, done: Callable[[list[dict]], bool], path: str, timeout: float = 60
    ) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.records(path=path)
            if done(rows):
                return rows
            time.sleep(0.1)
        raise TimeoutError(f"receiver: not done after {timeout}s: {self.records(path=path)}")


def wait_until(check: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"not true after {timeout}s: {what}")


WINDOW_MODEL = Path(__file__).resolve().parent / "stub_window_model.py"
READ, ADMIN = "read-key-0123456789", "admin-key-0123456789"
KEYS = f"{API_KEY},{READ}:read,{ADMIN}:admin"
PUBLIC = "https://leadscore.example.com"


@dataclass
class AlertService(RunningService):
    folder: Path = Path()
    env: dict[str, str] = field(default_factory=dict)
    receiver: Receiver | None = None


def auth(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@contextmanager
def running_alert_service(folder: Path, store_url: str | None) -> Iterator[AlertService]:
    """The service (stand-in model scoring recent engagement, compressed retries) on a store
    (SQLite in ``folder`` unless ``store_url``), with a receiver process."""
    register_stub(folder, code=WINDOW_MODEL)
    env = {
        "LEADSCORE_API_KEYS": KEYS, "LEADSCORE_RESCORE_SECONDS": "0.1",
        "LEADSCORE_WEBHOOK_POLL_SECONDS": "0.1", "LEADSCORE_WEBHOOK_RETRY_SECONDS": "0.2",
        "LEADSCORE_WEBHOOK_RETRY_MAX_SECONDS": "1", "LEADSCORE_WEBHOOK_GIVE_UP_SECONDS": "15",
        "LEADSCORE_WEBHOOK_TIMEOUT_SECONDS": "2", "LEADSCORE_WEBHOOK_LEASE_SECONDS": "5",
        "LEADSCORE_WEBHOOK_BATCH": "4", "LEADSCORE_PUBLIC_URL": PUBLIC,
    }  # fmt: skip
    if store_url is not None:
        env["LEADSCORE_STORE_URL"] = store_url
    receiver = Receiver(folder / "receiver")
    receiver.start()
    port = free_port()
    process = start_process(folder, port, folder / "serve.log", env)
    running = AlertService(
        f"http://127.0.0.1:{port}", process, folder / "serve.log", folder, env, receiver
    )
    try:
        wait_ready(running, 180)
        yield running
    finally:
        stop(running.process)
        receiver.stop()


def subscribe(service: AlertService, path: str, events: list[str], **extra) -> dict:
    body = {"url": f"{service.receiver.url}{path}", "events": events, **extra}
    answer = httpx.post(f"{service.url}/webhooks", json=body, headers=auth(ADMIN))
    assert answer.status_code == 201, answer.text
    made = answer.json()
    service.receiver.trust(path, made["secret"])
    return made


def post(service: AlertService, kind: str, items: list[dict]) -> None:
    httpx.post(f"{service.url}/{kind}", json={kind: items}, headers=auth()).raise_for_status()


def lead(service: AlertService, lead_id: str) -> dict:
    return httpx.get(
        f"{service.url}/leads/{lead_id}", headers=auth(READ), params={"history": 100}
    ).json()


def recorded(service: AlertService, lead_id: str, score: int, n: int) -> dict:
    """Wait until the lead's n-th stored score (history row) is ``score``; its current score.

    A read that finds the lead changed scores it on the spot and shows that score at the top
    of the history before it is written; a newer score written first supersedes it, and its
    row never is. So the row counts once no lead awaits a score (it was written)."""

    def check() -> dict | None:
        body = lead(service, lead_id)
        history = [row for row in body.get("history", []) if row["cause"] != "request"]
        if len(history) < n or history[0]["score"] != score:
            return None
        stats = httpx.get(f"{service.url}/stats", headers=auth(READ)).json()
        return body["score"] if stats["leads_awaiting_score"] == 0 else None

    return wait_until(check, 60, f"{lead_id}: stored score {score} (#{n})")


def event(lead_id: str, kind: str, at: datetime | None = None, key: str | None = None) -> dict:
    item = {"lead_id": lead_id, "event_type": kind, "occurred_at": iso(at or datetime.now(UTC))}
    return item | ({"id": key} if key else {})


def undelivered(service: AlertService, sub_id: str) -> int:
    rows = httpx.get(
        f"{service.url}/webhooks/{sub_id}/deliveries", headers=auth(ADMIN), params={"limit": 500}
    ).json()["deliveries"]
    return sum(1 for row in rows if row["status"] != "delivered")


def attempts(service: AlertService, sub_id: str) -> int:
    rows = httpx.get(f"{service.url}/webhooks/{sub_id}/deliveries", headers=auth(ADMIN)).json()
    return sum(row["attempts"] for row in rows["deliveries"])


def last_statuses(service: AlertService, sub_id: str) -> set[int | None]:
    rows = httpx.get(f"{service.url}/webhooks/{sub_id}/deliveries", headers=auth(ADMIN)).json()
    return {row["last_status"] for row in rows["deliveries"]}
