"""Alembic environment of the lead store: runs on the connection handed over by
:func:`store.migrate.upgrade_store` (never from an alembic.ini URL)."""

from __future__ import annotations

from alembic import context

from store.migrate import VERSION_TABLE
from store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the lead store's migrations through store.migrate.upgrade_store")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    # SQLite alters tables by copying them: batch mode lets later migrations do that.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
