"""A SQLite store held by another process, and what reached it: for the locked-store tests and
the attack table's benchmark."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path


def hold_sqlite_lock(path: Path, seconds: float) -> subprocess.Popen[bytes]:
    """A second process that holds ``path``'s SQLite write lock for ``seconds``."""
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\nc.execute('ROLLBACK')\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE
    )
    assert process.stdout is not None and process.stdout.readline().strip() == b"locked"
    return process


def stored_history(path: Path, prefix: str) -> int:
    """Score-history rows of leads whose id starts with ``prefix``."""
    with sqlite3.connect(path, timeout=120) as db:
        query = "SELECT COUNT(*) FROM score_history WHERE lead_id LIKE ?"
        return int(db.execute(query, (prefix + "%",)).fetchone()[0])
