"""One webhook delivery: sign it (Standard Webhooks), POST it, and decide what comes next.

Headers: ``webhook-id`` (the event id: the same on every retry, so receivers de-duplicate),
``webhook-timestamp`` (seconds, of this attempt) and ``webhook-signature`` (``v1,<base64
HMAC-SHA256 of "id.timestamp.body">``), made by the ``standardwebhooks`` package, so receivers
verify with any Standard Webhooks library.

What next: a 2xx is delivered; ``410 Gone`` disables the subscription; anything else (another
status, a refused connection, a timeout) is retried after an exponential backoff with jitter,
or after the receiver's ``Retry-After`` (429, 503), until ``give_up`` after the delivery was
queued: then it is a dead letter (replayable).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from standardwebhooks.webhooks import Webhook

from store.alert_outbox import DEAD, DELIVERED, PENDING
from store.outbox_claims import Claimed, Outcome
from store.records import to_micros

SECOND = 1_000_000
USER_AGENT = "leadscore-webhooks/1"


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff ``base * 2**(attempt-1)`` capped at ``cap`` (seconds), times a jitter in
    [0.5, 1) drawn from ``seed``, the row and the attempt (reproducible, yet spread); retries
    stop ``give_up`` seconds after the delivery was queued."""

    base: float = 10.0
    cap: float = 7_200.0
    give_up: float = 86_400.0
    seed: int = 42

    def delay(self, attempt: int, row_id: int) -> float:
        jitter = random.Random(f"{self.seed}:{row_id}:{attempt}").uniform(0.5, 1.0)
        return min(self.cap, self.base * 2.0 ** min(attempt - 1, 60)) * jitter


def signed_headers(secret: str, event_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
    }


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds from ``now``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def decide(
    item: Claimed,
    policy: RetryPolicy,
    now: datetime,
    http_status: int | None,
    error: str | None,
    retry_after: float | None = None,
) -> Outcome:
    """The outcome of one attempt (see module docstring)."""
    at = to_micros(now)
    if http_status is not None and 200 <= http_status < 300:
        return Outcome(item.row_id, DELIVERED, http_status, None, at)
    if http_status == 410:
        return Outcome(item.row_id, DEAD, 410, "410 Gone: subscription disabled", at, gone=True)
    wait = policy.delay(item.attempts + 1, item.row_id)
    if retry_after is not None and http_status in (429, 503):
        wait = retry_after
    retry_at = at + int(wait * SECOND)
    if retry_at > item.created_at + int(policy.give_up * SECOND):
        return Outcome(item.row_id, DEAD, http_status, error, at)
    return Outcome(item.row_id, PENDING, http_status, error, at, retry_at=retry_at)


async def deliver(client: httpx.AsyncClient, item: Claimed, policy: RetryPolicy) -> Outcome:
    """Sign and POST one claimed delivery; its outcome (never raises for the receiver's
    sake: a refused connection is an outcome like any other)."""
    sent_at = datetime.now(UTC)
    headers = signed_headers(item.secret, item.event_id, item.payload, sent_at)
    try:
        response = await client.post(item.url, content=item.payload.encode(), headers=headers)
    except httpx.HTTPError as exc:
        # The exception's class only: its text may contain the URL (and its credentials).
        return decide(item, policy, datetime.now(UTC), None, f"{type(exc).__name__}")
    now = datetime.now(UTC)
    error = None if response.is_success else f"HTTP {response.status_code}"
    retry_after = retry_after_seconds(response.headers.get("retry-after"), now)
    return decide(item, policy, now, response.status_code, error, retry_after)
