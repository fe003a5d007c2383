"""Helpers for the alert tests: a real webhook receiver process (``webhook_receiver.py``:
verifies signatures with the ``standardwebhooks`` library) that can be stopped, made to fail
and started again, and waits on what it received."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from serving_support import free_port

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
