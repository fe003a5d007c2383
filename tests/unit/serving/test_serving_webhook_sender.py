"""One webhook attempt: Standard Webhooks signatures that the ``standardwebhooks`` library
verifies, and what follows each answer (delivered, 410, Retry-After, backoff, dead letter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from serving.webhook_sender import RetryPolicy, decide, retry_after_seconds, signed_headers
from store.outbox_claims import Claimed
from store.records import to_micros
from store.webhook_subscriptions import new_secret

NOW = datetime.now(UTC).replace(microsecond=0)
POLICY = RetryPolicy(base=10, cap=3600, give_up=86_400, seed=42)


def _item(attempts: int = 0, queued: datetime = NOW, row_id: int = 7) -> Claimed:
    return Claimed(
        row_id, "wh_1", "http://x", new_secret(), "evt_1", "lead.sales_ready", "{}", attempts,
        to_micros(queued),
    )  # fmt: skip


def test_signatures_verify_with_the_standardwebhooks_library() -> None:
    secret = new_secret()
    body = json.dumps({"id": "evt_1", "type": "lead.sales_ready", "data": {"lead_id": "L1"}})
    headers = signed_headers(secret, "evt_1", body, datetime.now(UTC))
    assert Webhook(secret).verify(body, headers)["data"]["lead_id"] == "L1"
    assert headers["webhook-id"] == "evt_1" and headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("L1", "L2"), headers)  # tampered body
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)  # another subscription's secret


def test_answers_decide_what_comes_next() -> None:
    assert decide(_item(), POLICY, NOW, 204, None).status == "delivered"
    gone = decide(_item(), POLICY, NOW, 410, "HTTP 410")
    assert gone.status == "dead" and gone.gone
    failed = decide(_item(attempts=2), POLICY, NOW, 500, "HTTP 500")
    wait = (failed.retry_at - to_micros(NOW)) / 1e6
    assert failed.status == "pending" and 20 <= wait < 40  # 10 s * 2**2, jitter [0.5, 1)
    refused = decide(_item(), POLICY, NOW, None, "ConnectError")
    assert refused.status == "pending" and refused.http_status is None
    # 429 with Retry-After: exactly when the receiver asked, not the backoff.
    limited = decide(_item(attempts=5), POLICY, NOW, 429, "HTTP 429", retry_after=3)
    assert limited.retry_at - to_micros(NOW) == 3_000_000
    # Past the retry window: a dead letter.
    old = _item(attempts=12, queued=NOW - timedelta(hours=23, minutes=59))
    assert decide(old, POLICY, NOW, 500, "HTTP 500").status == "dead"


def test_backoff_grows_is_capped_and_its_jitter_is_reproducible() -> None:
    delays = [POLICY.delay(attempt, row_id=3) for attempt in range(1, 12)]
    assert all(5 <= d < 10 for d in delays[:1]) and delays[-1] <= 3600
    assert delays[4] > delays[1] * 4  # exponential
    assert delays == [POLICY.delay(attempt, row_id=3) for attempt in range(1, 12)]  # one seed
    # Rows retried at once do not stampede together: their jitters differ.
    assert len({round(POLICY.delay(3, row_id=r), 6) for r in range(20)}) == 20
    other_seed = RetryPolicy(seed=7).delay(3, row_id=3)
    assert other_seed != POLICY.delay(3, row_id=3)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("120", NOW) == 120
    in_a_minute = (NOW + timedelta(seconds=60)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds(in_a_minute, NOW) == pytest.approx(60, abs=1)
    assert retry_after_seconds("soon", NOW) is None and retry_after_seconds(None, NOW) is None
