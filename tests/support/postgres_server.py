"""A real PostgreSQL server for tests and benchmarks, started from Debian's binaries.

``initdb`` + ``pg_ctl`` in a temporary folder, listening on 127.0.0.1 and a free port, trust
authentication (nothing but this machine can reach it). PostgreSQL refuses to run as root, so
as root (CI) the server runs as the ``postgres`` user Debian's package creates, through
``runuser``; as anyone else it runs as that user. Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (``/usr/lib/postgresql/N/bin``)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_major)
    if not found:
        raise FileNotFoundError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): "
            "`make system-deps` or `apt-get install postgresql`"
        )
    return Path(found[-1]).parent


def _major(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    """A running server: its port and the superuser to connect as."""

    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "leadscore") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        dsn = f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SERVER_USER, "--", *command]


@contextmanager
def running_postgres(durable: bool = False) -> Iterator[PostgresServer]:
    """Start a throwaway server; stop it and delete its files at the end. Tests run it without
    fsync (fast, and a test never loses power); ``durable`` keeps PostgreSQL's defaults, as
    benchmarks need."""
    binaries = postgres_bin()
    # Not under pytest's tmp_path: that is private to root, and the server user must own it.
    folder = Path(tempfile.mkdtemp(prefix="leadscore-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    data.mkdir()
    sockets.mkdir()
    user = SERVER_USER if os.geteuid() == 0 else _current_user()
    if os.geteuid() == 0:
        shutil.chown(folder, SERVER_USER)
        for path in (data, sockets):
            shutil.chown(path, SERVER_USER)
    port = _free_port()
    log = folder / "server.log"
    environment = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(
        _as_server_user(
            [str(binaries / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
             "--encoding=UTF8", "--no-sync"]
        ),
        check=True, capture_output=True, env=environment,
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        _as_server_user(
            [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
             "-t", "60", "start"]
        ),
        check=True, capture_output=True, env=environment,
    )  # fmt: skip
    try:
        _wait_accepting(port)
        yield PostgresServer(port=port, user=user)
    finally:
        subprocess.run(
            _as_server_user(
                [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            ),
            check=False, capture_output=True, env=environment,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _wait_accepting(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"PostgreSQL did not accept connections on port {port}")
