"""Append-only log of served scores (SQLite, WAL).

It records what was served so later closed deals can be joined to the score that was live at
the time. It stores identifiers and outputs only: no attributes, no events, no personal data.
There is deliberately no code path that rewrites or removes rows; retention is an operator's job on the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

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

COLUMNS = ("lead_id", "as_of", "scored_at", "model_version", "probability", "tier")


class ScoreLog:
    """A thread-safe appender over one SQLite file (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # Requests run on a thread pool; the lock serialises use of the one connection.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def append(self, scores: Sequence[ScoreOut], scored_at: datetime | None = None) -> int:
        """Insert one row per score in a single transaction; return the number of rows."""
        if not scores:
            return 0
        stamp = (scored_at or datetime.now(UTC)).isoformat()
        rows = [
            (s.lead_id, s.as_of.isoformat(), stamp, s.model_version, s.probability, s.tier)
            for s in scores
        ]
        with self._lock:
            self._conn.execute("BEGIN")
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
