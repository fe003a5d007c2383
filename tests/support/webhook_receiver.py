"""A webhook receiver for tests, run as its own process: ``python webhook_receiver.py PORT
FOLDER``.

It verifies every delivery with the ``standardwebhooks`` library (an off-the-shelf verifier,
not leadscore's code) and the secret ``FOLDER/secrets.json`` gives for the path, and behaves as ``FOLDER/modes.json`` says, per path: ``ok`` (200),
``500``, ``429`` (with ``Retry-After: 1``), ``410``, ``slow`` (200 after 0.3 s). Every verified
delivery answered 2xx is appended to ``FOLDER/received.jsonl`` (its ``webhook-id``, type,
body, headers); a bad signature is answered 401 and counted in ``FOLDER/rejected.jsonl``; a
delivery that arrives while another with the same path and ``webhook-id`` is still being answered is
logged in ``FOLDER/overlaps.jsonl`` (two workers sending one outbox row at once).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

PORT, FOLDER = int(sys.argv[1]), Path(sys.argv[2])
LOCK = threading.Lock()
IN_FLIGHT: set[str] = set()


def _append(name: str, record: dict) -> None:
    with LOCK, (FOLDER / name).open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def _setting(name: str, path: str, default: str | None) -> str | None:
    try:
        values = json.loads((FOLDER / name).read_text())
    except (OSError, ValueError):
        return default
    return values.get(path, values.get("*", default))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = dict(self.headers.items())
        event_id = self.headers.get("webhook-id", "")
        # One event goes to every subscription that wants it: a delivery is (path, id).
        delivery = f"{self.path} {event_id}"
        with LOCK:
            overlap = delivery in IN_FLIGHT
            IN_FLIGHT.add(delivery)
        if overlap:
            _append("overlaps.jsonl", {"webhook_id": event_id, "path": self.path})
        try:
            self._handle(body, headers, event_id)
        finally:
            with LOCK:
                IN_FLIGHT.discard(delivery)

    def _handle(self, body: bytes, headers: dict[str, str], event_id: str) -> None:
        secret = _setting("secrets.json", self.path, None)
        try:
            if secret is None:
                raise WebhookVerificationError("no secret for this path")
            payload = Webhook(secret).verify(body, headers)
        except WebhookVerificationError as exc:
            _append("rejected.jsonl", {"webhook_id": event_id, "error": str(exc)})
            self._answer(401)
            return
        mode = _setting("modes.json", self.path, "ok")
        if mode == "500":
            self._answer(500)
        elif mode == "429":
            self._answer(429, {"Retry-After": "1"})
        elif mode == "410":
            self._answer(410)
        else:
            if mode == "slow":
                time.sleep(0.3)
            _append(
                "received.jsonl",
                {"webhook_id": event_id, "type": payload["type"], "path": self.path,
                 "received_at": time.time(), "payload": payload, "headers": headers},
            )  # fmt: skip
            self._answer(204)


class Server(ThreadingHTTPServer):
    request_queue_size = 256  # many senders connect at once (the default backlog is 5)
    daemon_threads = True


if __name__ == "__main__":
    FOLDER.mkdir(parents=True, exist_ok=True)
    Server(("127.0.0.1", PORT), Handler).serve_forever()
