"""Connections to the lead store: an embedded SQLite file (WAL) or a PostgreSQL server by URL.

Writers on SQLite: SQLite has one write lock per file, and a writer that finds it taken polls
for it with growing sleeps (1 ms up to 100 ms), which leaves the file idle between writers and
stalls the unlucky ones. Every leadscore process writing the file (service workers, CLI
commands) therefore first takes an exclusive ``flock`` on a lock file beside it, which wakes the
next writer the moment the lock is released; ``BEGIN IMMEDIATE`` then never waits. Readers take
no lock (WAL: they read the last committed state while a writer works).

PostgreSQL needs nothing of the sort: row locks order concurrent writers (see
:mod:`store.ingest_writes` for the order rows are locked in).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

BUSY_SECONDS = 60  # a backstop: writers serialise on the lock file before SQLite sees them


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases (and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError(f"the lead store needs a SQLite file, not an in-memory database: {url}")
    return Path(parsed.database)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class StoreDatabase:
    """The engines of one store and the rules for writing to it."""

    url: str
    engine: Engine
    writer: Engine
    lock_path: Path | None
    _thread_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_sqlite(self) -> bool:
        return self.lock_path is not None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (committed at the end, rolled back on an exception)."""
        if self.lock_path is None:
            with self.writer.begin() as connection:
                yield connection
            return
        # One writer per process at a time, then one per file across processes.
        with self._thread_lock, file_lock(self.lock_path), self.writer.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction: a consistent snapshot of committed data."""
        with self.engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.writer is not self.engine:
            self.writer.dispose()


def connect_store(
    url: str, *, pool_size: int = 5, busy_seconds: float = BUSY_SECONDS
) -> StoreDatabase:
    """Engines for ``url`` (tables are created by :func:`store.migrate.upgrade_store`)."""
    path = sqlite_path(url)
    if path is None:
        # pre_ping: a replica survives a database restart without answering 5xx once per
        # pooled connection; hide_parameters: an error names the statement, never the values.
        engine = create_engine(url, pool_size=pool_size, pool_pre_ping=True, hide_parameters=True)
        return StoreDatabase(url, engine, engine, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    reader = _sqlite_engine(url, "BEGIN", pool_size, busy_seconds=busy_seconds)
    # The one writer keeps more of the indexes it updates in memory (SQLite's default is
    # 2 MiB; bulk imports wrote ~1.5x as fast with 64, measured).
    writer = _sqlite_engine(url, "BEGIN IMMEDIATE", 1, cache_mib=64, busy_seconds=busy_seconds)
    return StoreDatabase(url, reader, writer, path.with_name(path.name + ".write-lock"))


def _sqlite_engine(
    url: str, begin: str, pool_size: int, cache_mib: int = 2, busy_seconds: float = BUSY_SECONDS
) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        connect_args={"timeout": busy_seconds, "check_same_thread": False},
        hide_parameters=True,  # an error names the statement, never the values (request content)
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        # The driver's own transaction handling off: the "begin" hook below says how.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # NORMAL in WAL mode: a commit survives a crash of the process (kill -9); only a
        # power loss can take the last commits back, never corrupt the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine
