"""The delivery worker: every service process runs one, sending due alerts from the outbox.

It claims due deliveries (:mod:`store.outbox_claims`: no two workers, processes or replicas
hold the same row), sends them concurrently from one asyncio loop in its own thread, and
records each outcome (delivered, retry later, dead letter, subscription gone). If it dies
between sending and recording, the claim's lease runs out and another worker sends the alert
again: at least once, and receivers de-duplicate by ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
import time

import httpx

from serving.service_settings import ServingSettings
from serving.webhook_sender import SECOND, RetryPolicy, deliver
from store.alert_store import AlertStore
from store.outbox_claims import Claimed, Outcome

logger = logging.getLogger(__name__)
DAY = 86_400 * SECOND
PRUNE_EVERY_SECONDS = 3600.0


def retry_policy(settings: ServingSettings) -> RetryPolicy:
    return RetryPolicy(
        base=settings.webhook_retry_seconds,
        cap=settings.webhook_retry_max_seconds,
        give_up=settings.webhook_give_up_seconds,
        seed=settings.seed,
    )


class DeliveryWorker:
    """A daemon thread delivering the outbox (see module docstring)."""

    def __init__(
        self,
        alerts: AlertStore,
        policy: RetryPolicy,
        *,
        poll: float,
        timeout: float,
        batch: int,
        lease: float,
        retention_days: float = 0.0,
    ) -> None:
        self.alerts = alerts
        self.policy = policy
        self.poll = poll
        self.timeout = timeout
        self.batch = batch
        self.lease_micros = int(max(lease, timeout * 2) * SECOND)
        self.name = f"w{os.getpid()}-{secrets.token_hex(4)}"
        self.sent = 0  # attempts made by this worker (for tests and logs)
        self.retention_micros = int(retention_days * DAY)
        self._next_prune = 0.0  # monotonic time of the next pruning (0: at start)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, alerts: AlertStore, settings: ServingSettings) -> DeliveryWorker:
        return cls(
            alerts,
            retry_policy(settings),
            poll=settings.webhook_poll_seconds,
            timeout=settings.webhook_timeout_seconds,
            batch=settings.webhook_batch,
            lease=settings.webhook_lease_seconds,
            retention_days=settings.alert_retention_days,
        )

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Look for due alerts now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the deliveries in flight (and record them), then stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 30)
            self._thread = None

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        limits = httpx.Limits(max_connections=self.batch, max_keepalive_connections=self.batch)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as client:
            while not self._stop.is_set():
                try:
                    claimed = await asyncio.to_thread(
                        self.alerts.claim, self.name, self.batch, self.lease_micros
                    )
                except Exception:
                    # The store may be down for a while: nothing is lost (the rows wait).
                    logger.exception("webhooks: claiming deliveries failed; retrying")
                    await self._pause(self.poll * 10)
                    continue
                if not claimed:
                    await self._prune()
                    await self._pause(self.poll)
                    continue
                outcomes = await asyncio.gather(
                    *(deliver(client, item, self.policy) for item in claimed)
                )
                self.sent += len(outcomes)
                await self._record(list(outcomes), claimed)

    async def _record(self, outcomes: list[Outcome], claimed: list[Claimed]) -> None:
        """Record outcomes, retrying while the store is unreachable (until the lease would
        run out: then the rows are due again anyway)."""
        deadline = time.monotonic() + self.lease_micros / SECOND
        while True:
            try:
                await asyncio.to_thread(self.alerts.record, self.name, outcomes)
                break
            except Exception:
                if time.monotonic() > deadline or self._stop.is_set():
                    logger.error("webhooks: %d outcomes not recorded; they will be resent",
                                 len(outcomes))  # fmt: skip
                    return
                logger.exception("webhooks: recording outcomes failed; retrying")
                await asyncio.sleep(self.poll * 5)
        dead = sum(1 for outcome in outcomes if outcome.status == "dead")
        if dead:
            # Counts and subscription ids only: no URL (credentials), no payload.
            subs = sorted({item.subscription_id for item in claimed})
            logger.warning("webhooks: %d alerts dead-lettered (subscriptions %s)", dead, subs)

    async def _prune(self) -> None:
        """Once an hour, when idle: the retention of alert events (every worker may do it;
        a deletion is the same whoever makes it)."""
        if not self.retention_micros or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        before = int(time.time() * SECOND) - self.retention_micros
        try:
            while await asyncio.to_thread(self.alerts.prune, before) and not self._stop.is_set():
                pass
        except Exception:
            logger.exception("webhooks: pruning old alerts failed; trying again in an hour")

    async def _pause(self, seconds: float) -> None:
        waited = await asyncio.to_thread(self._wake.wait, seconds)
        if waited:
            self._wake.clear()
