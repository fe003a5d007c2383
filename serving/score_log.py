"""What was served, written to the lead store by a background thread: requests never wait on a
database lock, and nothing served is lost.

Two kinds of rows reach the store through it, in one transaction per round:
- scores answered by ``POST /score`` (leads sent whole): score history rows (outputs only: no
  attributes, no events);
- scores a request computed for a stored lead whose stored score was out of date
  (``GET /leads/{id}``): they become the lead's current score, with a history row, unless a
  newer score got there first (:func:`store.score_records.record_scores`).

With one worker process per CPU sharing the store, synchronous commits contended for the write
lock: p99 latency at 32 clients was hundreds of ms (measured with the earlier SQLite score
log). Requests append to a deque, which takes no lock and wakes no thread; the writer commits
what is pending every ``interval`` seconds. When a write fails (the database is down or
locked) the rows stay pending and are retried, with a growing pause, until they are written:
never dropped; the failure and the recovery are logged once each, not per retry. The backlog
(scores not written yet) is what ``/readyz`` and the ``leadscore_score_log_backlog`` gauge
report. ``history`` waits a moment for pending rows (so this process reads its own writes) but
never for a locked database; ``close`` keeps retrying until written or its deadline.

Every row carries the score's compact explanation (``models.reason_changes``), so the next
score of a lead says what changed: :meth:`BackgroundScoreLog.latest_explanations` reads the
store's latest and this process's scores not written yet, without waiting for the writer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from models.reason_changes import ScoredExplanation, explanation_of
from models.schema import ScoreOut
from serving.score_changes import parse_explanations
from serving.store_scoring import stored_score
from store.lead_store import LeadStore
from store.records import to_micros
from store.score_records import StoreScore

logger = logging.getLogger(__name__)

_STOP = object()  # tells the writer to commit what is pending and end
MAX_RETRY_SECONDS = 5.0


class BackgroundScoreLog:
    """Hands served scores to the store from one background thread (see module docstring)."""

    def __init__(
        self,
        store: LeadStore,
        interval: float = 0.1,
        on_backlog: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.interval = interval
        self._on_backlog = on_backlog or (lambda _: None)
        self._failing_since: float | None = None
        self._close_deadline = 0.0
        # Items: ("served", scores, scored_at), ("stored", scores), a flush marker (Event) or
        # _STOP. deque.append and popleft are atomic, so any thread may append.
        self._pending: deque[Any] = deque()
        self._unwritten: list[tuple[str, Any, Any]] = []  # drained, not yet committed
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="score-log", daemon=True)
        self._thread.start()

    def append(self, scores: Sequence[ScoreOut], scored_at: datetime | None = None) -> int:
        """Log scores answered for leads sent whole; return how many were handed over."""
        if scores:
            self._pending.append(("served", scores, scored_at or datetime.now(UTC)))
        return len(scores)

    def record(self, scores: Sequence[StoreScore]) -> int:
        """Store scores computed for stored leads (current score and history)."""
        if scores:
            self._pending.append(("stored", scores, None))
        return len(scores)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything handed over so far had a write attempt (at most ``timeout``
        seconds); True when it had."""
        if not self._thread.is_alive():
            return True  # closed: close() wrote everything it could
        done = threading.Event()
        self._pending.append(done)
        self._wake.set()
        return done.wait(timeout)

    def history(self, lead_id: str, limit: int = 20, wait: float = 1.0) -> list[dict[str, Any]]:
        """The lead's score history; rows still pending after ``wait`` seconds (the database
        is locked) are not waited for: a lock must not hold up reads."""
        self.flush(wait)
        return self.store.history(lead_id, limit)

    def latest_explanations(self, lead_ids: Sequence[str]) -> dict[str, ScoredExplanation]:
        """Each lead's previous compact explanation: the store's latest, then this process's
        scores not written yet (newer). A score another worker served in the last
        ``interval`` seconds may not be seen yet."""
        found = parse_explanations(self.store.latest_explanations(lead_ids))
        wanted = set(lead_ids)
        # C-level copies, oldest first: safe while the writer drains and requests append.
        for item in [*tuple(self._unwritten), *tuple(self._pending)]:
            if not isinstance(item, tuple):
                continue
            for score in item[1]:
                if score.lead_id not in wanted:
                    continue
                if isinstance(score, ScoreOut):
                    explanation = explanation_of(score)
                    if explanation is not None:
                        found[score.lead_id] = explanation
                elif score.explanation is not None:
                    found.update(parse_explanations({score.lead_id: score.explanation}))
        return found

    def pending(self) -> int:
        """Scores handed over and not written yet."""
        items = list(self._pending) + self._unwritten
        return sum(len(item[1]) for item in items if isinstance(item, tuple))

    def close(self, deadline_seconds: float = 0.0) -> None:
        """Write what is pending, retrying for up to ``deadline_seconds``, stop the writer."""
        self._close_deadline = time.monotonic() + deadline_seconds
        self._pending.append(_STOP)
        self._wake.set()
        self._thread.join()
        left = self.pending()
        if left:
            logger.error("score log: %d scores could not be written before shutdown", left)

    def _run(self) -> None:
        pause = self.interval
        while True:
            self._wake.wait(pause)
            # Cleared before draining: a flush that sets it later has its marker drained now
            # or wakes the next round at once.
            self._wake.clear()
            markers: list[threading.Event] = []
            stop = False
            while self._pending:
                item = self._pending.popleft()
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    markers.append(item)
                else:
                    self._unwritten.append(item)
            written = self._write()
            pause = (
                self.interval if written else min(MAX_RETRY_SECONDS, max(pause * 2, self.interval))
            )
            for marker in markers:
                marker.set()
            self._on_backlog(self.pending())
            if stop and (written or time.monotonic() >= self._close_deadline):
                return
            if stop:
                self._pending.appendleft(_STOP)  # retried until the close deadline
                pause = min(pause, max(0.0, self._close_deadline - time.monotonic()))

    def _write(self) -> bool:
        """Commit every unwritten item in one transaction; False (kept for a retry) if not."""
        if not self._unwritten:
            return True
        stored: list[StoreScore] = []
        served: list[StoreScore] = []
        for kind, scores, stamp in self._unwritten:
            if kind == "stored":
                stored.extend(scores)
            else:
                scored_at = to_micros(stamp)
                served.extend(
                    stored_score(s, scored_at, revision=None, cause="request", reasons=False)
                    for s in scores
                )
        try:
            self.store.write_scores(stored, served)
        except Exception as exc:
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                # The error's class only: a database error's text may carry row values.
                logger.warning(
                    "score log: the store refused a write (%s); %d scores kept, retrying",
                    type(getattr(exc, "orig", None) or exc).__name__,
                    len(stored) + len(served),
                )
            return False
        self._unwritten.clear()
        if self._failing_since is not None:
            logger.warning(
                "score log: writing again after %.1f s; nothing was dropped",
                time.monotonic() - self._failing_since,
            )
            self._failing_since = None
        return True
