"""Alembic migrations of the lead store, run from code: on service start (every worker) and
by ``leadscore store upgrade``.

Several processes start at once and each upgrades: on SQLite the upgrade (and the switch to WAL,
which needs the file to itself) runs under a lock file; on PostgreSQL under an advisory lock
held by the migration's transaction. The version table is ``leadscore_store_version``, so a
database shared with other Alembic users (MLflow's tracking store) keeps theirs apart.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from store.database import StoreDatabase, file_lock

VERSION_TABLE = "leadscore_store_version"
_MIGRATIONS = Path(__file__).parent / "migrations"
_ADVISORY_KEY = 0x1EAD5C0E  # PostgreSQL advisory lock id of store migrations


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the shipped migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: StoreDatabase) -> str | None:
    """The migration the database is at (None: never migrated)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade_store(db: StoreDatabase) -> str:
    """Migrate the store to the newest schema; return its revision."""
    if db.lock_path is not None:
        init_lock = db.lock_path.with_name(db.lock_path.name.replace("write-lock", "init-lock"))
        with file_lock(init_lock):
            # WAL lets readers read while one process writes; set once, kept in the file.
            # Outside any transaction (SQLite refuses the switch inside one).
            raw = db.writer.raw_connection()
            try:
                raw.cursor().execute("PRAGMA journal_mode=WAL")
            finally:
                raw.close()
            with db.write() as connection:
                command.upgrade(alembic_config(connection), "head")
    else:
        with db.write() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
            command.upgrade(alembic_config(connection), "head")
    return head_revision()
