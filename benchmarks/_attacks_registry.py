"""The rest of issue #32's table: the MLflow registry, ``--dataset``, model-level 422s and the
OpenAPI document (see attack_table.py)."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

CLI = [sys.executable, "-m", "leadscore.cli"]


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"seconds": round(time.perf_counter() - start, 1), "code": None, "lines": 0}
    text = (done.stdout + done.stderr).strip()
    return {
        "seconds": round(time.perf_counter() - start, 1),
        "code": done.returncode,
        "lines": len(text.splitlines()),
        "last": text.splitlines()[-1][:200] if text else "",
    }


def _silent_server() -> tuple[socket.socket, int]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, int(server.getsockname()[1])


def unreachable_tracking(env: dict[str, str], cwd: Path, timeout: float) -> dict[str, Any]:
    """``models`` and ``serve`` against a tracking URI that accepts and never answers."""
    server, port = _silent_server()
    try:
        silent = {**env, "LEADSCORE_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}"}
        results = {
            name: _run([*CLI, *args], silent, cwd, timeout)
            for name, args in (("models", ["models"]), ("serve", ["serve", "--port", "1"]))
        }
    finally:
        server.close()
    return {
        "what": "an MLflow tracking URI that does not answer",
        "commands": results,
        "outcome": "; ".join(
            f"`{name}` " + (f"still running after {timeout:.0f} s" if r["code"] is None
                            else f"{r['seconds']} s, exit {r['code']}, {r['lines']} line(s)")
            for name, r in results.items()
        ),
    }  # fmt: skip


def broken_tracking(env: dict[str, str], mlflow_db: Path, work: Path) -> dict[str, Any]:
    """``models``/``serve``/``promote`` on a corrupted and on a locked MLflow store."""
    corrupt = work / "corrupt.db"
    shutil.copy(mlflow_db, corrupt)
    with corrupt.open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\xde\xad\xbe\xef" * 2048)
    locked = work / "locked.db"
    shutil.copy(mlflow_db, locked)
    holder = sqlite3.connect(locked, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    results: dict[str, Any] = {}
    try:
        for kind, path in (("corrupted", corrupt), ("locked", locked)):
            broken = {**env, "LEADSCORE_MLFLOW_TRACKING_URI": f"sqlite:///{path}"}
            for name, args in (("models", ["models"]), ("serve", ["serve", "--port", "1"]),
                               ("promote", ["promote"])):  # fmt: skip
                results[f"{name} ({kind})"] = _run([*CLI, *args], broken, work, 120)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    return {
        "what": "a corrupted or locked MLflow store (CLI)",
        "commands": results,
        "outcome": "; ".join(
            f"{name}: {r['lines']} lines, exit {r['code']}" for name, r in results.items()
        ),
    }


def registry_down_while_serving(
    url: str, auth: dict[str, str], log: Path, mlflow_db: Path, wait: float
) -> dict[str, Any]:
    """Corrupt the running service's MLflow store (its header, as a truncated or overwritten
    file would be): what it logs per poll, /readyz, GET /model's registry state, a score."""
    size = log.stat().st_size
    backup = mlflow_db.read_bytes()
    with mlflow_db.open("r+b") as handle:
        handle.write(b"\xde\xad\xbe\xef" * 4096)
    try:
        time.sleep(wait)
        ready = httpx.get(f"{url}/readyz", timeout=10)
        registry = httpx.get(f"{url}/model", headers=auth, timeout=10).json().get("registry")
        lead = {"lead_id": "r", "attributes": {}}
        scored = httpx.post(f"{url}/score", json={"leads": [lead]}, headers=auth, timeout=30)
        text = log.read_bytes()[size:].decode(errors="replace")
    finally:
        mlflow_db.write_bytes(backup)
    reachable = None if registry is None else registry.get("reachable")
    return {
        "what": "a corrupted MLflow store under the running service",
        "log_lines": len(text.splitlines()),
        "tracebacks": text.count("Traceback"),
        "readyz": ready.status_code,
        "registry": registry,
        "score_status": scored.status_code,
        "outcome": f"{text.count('Traceback')} tracebacks and {len(text.splitlines())} log "
        f"line(s) in {wait:.0f} s of polls; GET /model registry reachable={reachable}; "
        f"POST /score {scored.status_code} with the last good model; /readyz {ready.status_code}",
    }


def dataset_shadowed(env: dict[str, str], work: Path) -> dict[str, Any]:
    """``--dataset demo`` while a folder ``./demo`` exists, and a missing path."""
    folder = work / "shadow"
    (folder / "demo").mkdir(parents=True, exist_ok=True)
    named = _run([*CLI, "validate", "--dataset", "demo"], env, folder, 120)
    missing = _run([*CLI, "validate", "--dataset", "configs/missing.yaml"], env, folder, 120)
    return {
        "what": "`--dataset demo` while a folder `./demo` exists",
        "named": named,
        "missing_path": missing,
        "outcome": f"`--dataset demo`: exit {named['code']}: {named.get('last', '')[:120]}; "
        f"a missing path: {missing.get('last', '')[:120]}",
    }


def model_level_errors(url: str, auth: dict[str, str]) -> dict[str, Any]:
    """Values only the model can refuse: a non-number in a numeric attribute, a bad boolean."""
    leads = [
        {"lead_id": "ok", "attributes": {}},
        {"lead_id": "bad-number", "attributes": {"annual_revenue": "12k"}},
    ]
    number = httpx.post(f"{url}/score", json={"leads": leads}, headers=auth, timeout=30)
    boolean = httpx.post(
        f"{url}/score",
        json={"leads": [{"lead_id": "b", "attributes": {"is_customer": "maybe"}}]},
        headers=auth,
        timeout=30,
    )
    lines = [*number.json().get("detail", []), *boolean.json().get("detail", [])]
    return {
        "what": "model-level 422s",
        "statuses": [number.status_code, boolean.status_code],
        "outcome": f"{number.status_code}/{boolean.status_code}: " + " | ".join(lines),
    }


def openapi_document(url: str, auth: dict[str, str]) -> dict[str, Any]:
    """Routes, documented status codes and security schemes of /docs.json."""
    document = httpx.get(f"{url}/docs.json", headers=auth, timeout=30).json()
    codes = sorted(
        {code for ops in document["paths"].values() for op in ops.values()
         if isinstance(op, dict) for code in op.get("responses", {})}
    )  # fmt: skip
    schemes = sorted(document.get("components", {}).get("securitySchemes", {}))
    return {
        "what": "the OpenAPI document",
        "routes": sorted(document["paths"]),
        "codes": codes,
        "security_schemes": schemes,
        "outcome": f"{len(document['paths'])} routes ({', '.join(sorted(document['paths']))}); "
        f"status codes {', '.join(codes)}; security schemes: {schemes or 'none'}",
    }


def as_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2, default=str)
