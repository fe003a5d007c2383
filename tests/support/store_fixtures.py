"""Fixtures for every test of the lead store: each runs on SQLite and on a real PostgreSQL
server (one per test session and pytest-xdist worker, started on first use), each test on a
database of its own. Registered for the whole suite by ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import PostgresServer, running_postgres

DATABASES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(params=DATABASES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty lead store database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'leadscore-store.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def lead_store(store_url: str) -> Iterator[object]:
    """A migrated store declared by the shipped ``demo`` config."""
    from store.lead_store import LeadStore

    store = LeadStore.open(store_url, "demo")
    yield store
    store.close()
