"""Ingestion requests of one worker written together: one transaction and one commit per round.

Each request hands its batch to a writer thread and awaits the answer. The thread takes every
batch waiting when it wakes and stores them in one transaction, each in its own savepoint
(:meth:`store.lead_store.LeadStore.ingest_many`): a batch refused for its content is refused
alone, and nothing is acknowledged before it is committed. While one round is written, the
next requests gather for the following round, so batching costs no added wait. On SQLite a
commit writes every page its transaction touched and concurrent batches touch the same index
pages: per-request transactions spent more time committing than inserting (measured).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from typing import Any

from store.lead_store import LeadStore
from store.records import IngestBatch, IngestResult

logger = logging.getLogger(__name__)

MAX_ROUND_ITEMS = 20_000  # items written in one transaction at most


class IngestQueue:
    """Gathers concurrent requests' batches for one writer thread (see module docstring)."""

    def __init__(self, store: LeadStore) -> None:
        self.store = store
        self._pending: deque[tuple[IngestBatch, asyncio.AbstractEventLoop, asyncio.Future]] = (
            deque()
        )
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._thread.start()

    async def ingest(self, batch: IngestBatch) -> IngestResult:
        """Store ``batch`` whole or not at all; raises what the store raised for it."""
        if self._closed:
            raise RuntimeError("the ingestion queue is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        self._pending.append((batch, loop, future))
        self._wake.set()
        return await future

    def close(self) -> None:
        """Write what is waiting, then stop the thread."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._pending:
                self._write_round()
            if self._closed:
                return

    def _write_round(self) -> None:
        round_: list[tuple[IngestBatch, asyncio.AbstractEventLoop, asyncio.Future]] = []
        items = 0
        while self._pending and (not round_ or items + len(self._pending[0][0]) <= MAX_ROUND_ITEMS):
            entry = self._pending.popleft()
            round_.append(entry)
            items += len(entry[0])
        try:
            outcomes: list[Any] = self.store.ingest_many([batch for batch, _, _ in round_])
        except Exception as exc:  # the database failed: every request of the round learns it
            outcomes = [exc] * len(round_)
        for (_, loop, future), outcome in zip(round_, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, future, outcome)


def _settle(future: asyncio.Future, outcome: Any) -> None:
    if future.done():  # the request went away meanwhile
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
