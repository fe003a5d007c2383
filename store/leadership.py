"""One background rescorer per store, however many workers and replicas run: the process that
holds the store's leadership lock rescores; the others answer requests and stand by.

SQLite: a non-blocking ``flock`` on a file beside the database (held while the process lives).
PostgreSQL: a session advisory lock on a connection kept open for it (released when the
connection closes, so a replica that dies hands leadership on).
"""

from __future__ import annotations

import fcntl
from typing import Any, Protocol

from sqlalchemy import text

from store.database import StoreDatabase

_ADVISORY_KEY = 0x1EAD5C0F  # PostgreSQL advisory lock id of the rescorer


class Leadership(Protocol):
    def release(self) -> None: ...


class _FileLeadership:
    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def release(self) -> None:
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


class _AdvisoryLeadership:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def release(self) -> None:
        self._connection.close()  # a session lock ends with its session


def try_leadership(db: StoreDatabase) -> Leadership | None:
    """The store's rescorer leadership, or None when another process holds it."""
    if db.lock_path is not None:
        path = db.lock_path.with_name(db.lock_path.name.replace("write-lock", "rescorer-lock"))
        handle = path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return _FileLeadership(handle)
    connection = db.engine.connect()
    connection.detach()  # its own session: closing it must end the session, not pool it
    try:
        held = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": _ADVISORY_KEY}
        ).scalar_one()
        connection.commit()
    except Exception:
        connection.close()
        raise
    if not held:
        connection.close()
        return None
    return _AdvisoryLeadership(connection)
