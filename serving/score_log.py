"""Append-only log of served scores (SQLite, WAL).

It records what was served so later closed deals can be joined to the score that was live at
the time. It stores identifiers and outputs only: no attributes, no events, no personal data.
There is deliberately no code path that rewrites or removes rows; retention is an operator's job on the file.
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

from models.schema import ScoreOut

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id TEXT NOT NULL,
    as_of TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    model_version TEXT NOT NULL,
    probability REAL NOT NULL,
    tier TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scores_lead ON scores (lead_id, id);
"""

_BUSY_SECONDS = 30.0  # how long a writer waits for another worker's transaction

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
        self._conn.execute("PRAGMA synchronous=NORMAL")

    def append(self, scores: Sequence[ScoreOut], scored_at: datetime | None = None) -> int:
        """Insert one row per score in a single transaction; return the number of rows."""
        return self.append_batches([(scores, scored_at or datetime.now(UTC))])

    def append_batches(self, batches: Sequence[tuple[Sequence[ScoreOut], datetime]]) -> int:
        """Insert several requests' scores, each with its own time, in one transaction."""
        rows: list[tuple[str, str, str, str, float, str]] = []
        for scores, stamp in batches:
            scored_at = stamp.isoformat()
            rows.extend(
                (s.lead_id, s.as_of.isoformat(), scored_at, s.model_version, s.probability, s.tier)
                for s in scores
            )
        if not rows:
            return 0
        with self._lock:
            # IMMEDIATE: take the write lock up front (waiting up to the busy timeout for
            # other workers) instead of failing on a read-to-write upgrade mid-transaction.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    f"INSERT INTO scores ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)", rows
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

    def count(self) -> int:
        """Number of rows (for tests and operators)."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    def close(self) -> None:
        """Close the connection (on service shutdown)."""
        with self._lock:
            self._conn.close()


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
