"""The store's schema comes from its Alembic migrations, run from code, on both databases."""

from __future__ import annotations

import multiprocessing

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from store.database import connect_store
from store.migrate import VERSION_TABLE, current_revision, head_revision, upgrade_store
from store.tables import metadata


def test_migrations_build_exactly_the_tables_the_code_uses(store_url: str) -> None:
    db = connect_store(store_url)
    try:
        assert current_revision(db) is None
        assert upgrade_store(db) == head_revision()
        assert current_revision(db) == head_revision()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            # Columns, types, nullability, indexes, unique and foreign keys all as declared.
            assert compare_metadata(context, metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert tables == {*metadata.tables, VERSION_TABLE}
        assert upgrade_store(db) == head_revision()  # a second upgrade changes nothing
    finally:
        db.dispose()


def test_sqlite_store_is_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    db = connect_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgrade_store(db)
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def _upgrade(url: str) -> str:
    db = connect_store(url)
    try:
        return upgrade_store(db)
    finally:
        db.dispose()


def test_workers_starting_at_once_all_migrate_one_store(store_url: str) -> None:
    """Every service worker upgrades at start; four at once must all succeed (a lock
    serialises them) and leave one schema."""
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        revisions = pool.map(_upgrade, [store_url] * 4)
    assert revisions == [head_revision()] * 4
    db = connect_store(store_url)
    assert current_revision(db) == head_revision()
    db.dispose()


def test_an_in_memory_sqlite_store_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a SQLite file"):
        connect_store("sqlite://")
