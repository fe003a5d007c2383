"""Append-only log of served scores (SQLite, WAL).

It records what was served so later closed deals can be joined to the score that was live at
the time. It stores identifiers and outputs only: no attributes, no events, no personal data.
There is deliberately no code path that rewrites or removes rows; retention is an operator's job on the file.

Each row also keeps the score's compact explanation (``models.reason_changes``: every reason
group's points and the number of events known; numbers and group keys only), so the next
score of the same lead can say what changed (:meth:`ScoreLog.latest_explanations`).
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.reason_changes import ScoredExplanation, explanation_of
from models.schema import ScoreOut

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id TEXT NOT NULL,
    as_of TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    model_version TEXT NOT NULL,
    probability REAL NOT NULL,
    tier TEXT NOT NULL,
    explanation TEXT
);
CREATE INDEX IF NOT EXISTS scores_lead ON scores (lead_id, id);
"""
# Logs written before explanations were kept gain the column (NULL for their old rows).
_ADD_EXPLANATION = "ALTER TABLE scores ADD COLUMN explanation TEXT"

_BUSY_SECONDS = 30.0  # how long a writer waits for another worker's transaction
_LOOKUP_CHUNK = 500  # lead ids per look-up query (well under SQLite's parameter limit)

COLUMNS = ("lead_id", "as_of", "scored_at", "model_version", "probability", "tier")


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (created if missing)."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ScoreLog:
    """A thread-safe appender over one SQLite file (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # The writer thread and readers (history, count) share the one connection.
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=_BUSY_SECONDS
        )
        # Every service worker opens the log at start. Switching to WAL needs the database to
        # itself and SQLite answers "database is locked" at once rather than waiting, which
        # once left a server running on one worker of two: set-up is serialised across
        # processes by a lock file next to the log.
        with _exclusive(path.with_name(path.name + ".init-lock")):
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(scores)")}
            if "explanation" not in columns:
                self._conn.execute(_ADD_EXPLANATION)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # Requests look up previous explanations on their own connection: in WAL mode a
        # reader never waits for the writer's commit.
        self._reader = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=_BUSY_SECONDS
        )
        self._reader_lock = threading.Lock()

    def append(self, scores: Sequence[ScoreOut], scored_at: datetime | None = None) -> int:
        """Insert one row per score in a single transaction; return the number of rows."""
        return self.append_batches([(scores, scored_at or datetime.now(UTC))])

    def append_batches(self, batches: Sequence[tuple[Sequence[ScoreOut], datetime]]) -> int:
        """Insert several requests' scores, each with its own time, in one transaction."""
        rows: list[tuple[str, str, str, str, float, str, str | None]] = []
        for scores, stamp in batches:
            scored_at = stamp.isoformat()
            rows.extend(
                (
                    s.lead_id, s.as_of.isoformat(), scored_at, s.model_version, s.probability,
                    s.tier, _explanation_json(s),
                )
                for s in scores
            )  # fmt: skip
        if not rows:
            return 0
        with self._lock:
            # IMMEDIATE: take the write lock up front (waiting up to the busy timeout for
            # other workers) instead of failing on a read-to-write upgrade mid-transaction.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    f"INSERT INTO scores ({', '.join(COLUMNS)}, explanation) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return len(rows)

    def history(self, lead_id: str, limit: int = 20) -> list[dict[str, object]]:
        """The latest ``limit`` rows for one lead, newest first."""
        with self._lock:
            cursor = self._conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM scores WHERE lead_id = ? "
                "ORDER BY id DESC LIMIT ?",
                (lead_id, limit),
            )
            return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]

    def latest_explanations(self, lead_ids: Sequence[str]) -> dict[str, ScoredExplanation]:
        """The compact explanation of each lead's latest logged score that has one."""
        wanted = sorted(set(lead_ids))
        found: dict[str, ScoredExplanation] = {}
        with self._reader_lock:
            for low in range(0, len(wanted), _LOOKUP_CHUNK):
                chunk = wanted[low : low + _LOOKUP_CHUNK]
                marks = ", ".join("?" * len(chunk))
                cursor = self._reader.execute(
                    "SELECT lead_id, explanation FROM scores WHERE id IN (SELECT MAX(id) FROM "
                    f"scores WHERE lead_id IN ({marks}) AND explanation IS NOT NULL "
                    "GROUP BY lead_id)",
                    chunk,
                )
                for lead_id, text in cursor.fetchall():
                    found[lead_id] = ScoredExplanation.from_json(text)
        return found

    def count(self) -> int:
        """Number of rows (for tests and operators)."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    def close(self) -> None:
        """Close the connections (on service shutdown)."""
        with self._reader_lock:
            self._reader.close()
        with self._lock:
            self._conn.close()


def _explanation_json(score: ScoreOut) -> str | None:
    explanation = explanation_of(score)
    return None if explanation is None else explanation.to_json()


_STOP = object()  # tells the writer to commit what is pending and end


class BackgroundScoreLog:
    """A :class:`ScoreLog` written by one background thread, so requests never wait for SQLite.

    With one worker process per CPU sharing the file, synchronous commits contended for
    SQLite's write lock, whose busy handler sleeps 1-100 ms: p99 latency at 32 clients was
    hundreds of ms (measured). Requests append their scores (time-stamped when served) to a
    deque, which takes no lock and wakes no thread; the writer commits everything pending
    every ``interval`` seconds in one transaction. (A queue that woke the writer per request
    cost ~6 % of a worker's time in lock hand-offs, and one commit per request, measured.)
    ``history``/``count`` and ``close`` flush first, so this process always reads its own
    writes; a write error is logged loudly and never reaches a request.
    """

    def __init__(self, log: ScoreLog, interval: float = 0.1) -> None:
        self.log = log
        self.path = log.path
        self.interval = interval
        # Items: (scores, scored_at), a flush marker (Event) or _STOP. deque.append and
        # popleft are atomic, so any thread may append while the writer drains.
        self._pending: deque[Any] = deque()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="score-log", daemon=True)
        self._thread.start()

    def append(self, scores: Sequence[ScoreOut], scored_at: datetime | None = None) -> int:
        """Hand the scores to the writer; return how many were handed over."""
        if scores:
            self._pending.append((scores, scored_at or datetime.now(UTC)))
        return len(scores)

    def flush(self) -> None:
        """Block until everything appended so far is committed (or failed and was logged)."""
        if not self._thread.is_alive():
            return  # closed: close() committed everything
        done = threading.Event()
        self._pending.append(done)
        self._wake.set()
        done.wait()

    def history(self, lead_id: str, limit: int = 20) -> list[dict[str, object]]:
        self.flush()
        return self.log.history(lead_id, limit)

    def count(self) -> int:
        self.flush()
        return self.log.count()

    def latest_explanations(self, lead_ids: Sequence[str]) -> dict[str, ScoredExplanation]:
        """Previous explanations without waiting for the writer: committed rows, then this
        process's scores still pending (newer). A score another worker served in the last
        ``interval`` seconds may not be seen yet."""
        found = self.log.latest_explanations(lead_ids)
        wanted = set(lead_ids)
        for item in tuple(self._pending):  # a C-level copy: safe while others append
            if isinstance(item, tuple):
                for score in item[0]:
                    explanation = explanation_of(score) if score.lead_id in wanted else None
                    if explanation is not None:
                        found[score.lead_id] = explanation
        return found

    def close(self) -> None:
        """Commit what is pending, stop the writer, close the file."""
        self._pending.append(_STOP)
        self._wake.set()
        self._thread.join()
        self.log.close()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            # Cleared before draining: a flush that sets it later has its marker drained now
            # or wakes the next round at once.
            self._wake.clear()
            batches: list[tuple[Sequence[ScoreOut], datetime]] = []
            markers: list[threading.Event] = []
            stop = False
            while self._pending:
                item = self._pending.popleft()
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    markers.append(item)
                else:
                    batches.append(item)  # type: ignore[arg-type]
            try:
                self.log.append_batches(batches)
            except Exception:
                logging.getLogger(__name__).exception(
                    "score log: %d scores could not be written", sum(len(b[0]) for b in batches)
                )
            for marker in markers:
                marker.set()
            if stop:
                return
