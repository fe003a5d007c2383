"""Issue #32's table, re-run: a real service attacked as an attacker and a bad day would.

Trains a small real model into a throwaway MLflow store, starts ``bentoml serve`` (as
``leadscore serve`` does) and runs every line of the table against it: random unauthenticated
paths and ``/metrics``, extreme dates and numbers, ``Infinity``, what a bad request leaves in
the log, ``leadscore serve``'s output, a score log locked by another process, SIGTERM under
concurrent clients, an unreachable / corrupted / locked tracking store, ``--dataset`` shadowed
by a folder, model-level 422s and the OpenAPI document. Prints the table (Markdown) and writes
``benchmarks/results/attack_table.json``.

Usage: ``python benchmarks/attack_table.py [--paths 10000] [--lock-seconds 38] [--clients 32]``
(``--quick`` for a two-minute smoke run with smaller numbers).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

import _attacks  # noqa: E402
import _attacks_registry  # noqa: E402
from serving_support import (  # noqa: E402
    API_KEY,
    AUTH,
    free_port,
    register_trained,
    run_service,
    service_env,
)

RESULTS = ROOT / "benchmarks" / "results" / "attack_table.json"


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="attack-table-") as tmp:
        store = Path(tmp)
        register_trained(store, n_leads=args.leads, seed=args.seed)
        # The lock outlasts the busy timeout, as it did in production (30 s then).
        extra = {"LEADSCORE_STORE_BUSY_SECONDS": str(args.busy_seconds)}
        with run_service(store, extra_env=extra) as service:
            url, log = service.url, service.log_path
            rows.append(_attacks.metrics_growth(url, AUTH, args.paths, args.seed))
            rows.append(_attacks.extreme_values(url, AUTH))
            rows.append(_attacks.infinity(url, AUTH))
            rows.append(_attacks.client_error_logging(url, AUTH, log))
            store_file = store / "data" / "leadscore-store.sqlite"
            rows.append(_attacks.locked_score_log(url, AUTH, store_file, args.lock_seconds))
            rows.append(_attacks_registry.model_level_errors(url, AUTH))
            rows.append(_attacks_registry.openapi_document(url, AUTH))
            rows.append(
                _attacks_registry.registry_down_while_serving(
                    url, AUTH, log, store / "mlflow.db", wait=5.0
                )
            )
        env = service_env(store)
        rows.insert(4, _attacks.serve_banner(store, env, API_KEY, free_port()))
        with run_service(store, extra_env=extra) as service:
            rows.insert(
                6,
                _attacks.sigterm_under_load(
                    service.url, AUTH, service.process, args.clients, store_file
                ),
            )
        rows.insert(7, _attacks_registry.unreachable_tracking(env, store, args.hang_seconds))
        rows.insert(8, _attacks_registry.broken_tracking(env, store / "mlflow.db", store))
        rows.insert(10, _attacks_registry.dataset_shadowed(env, store))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--lock-seconds", type=float, default=38.0)
    parser.add_argument("--busy-seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--hang-seconds", type=float, default=90.0)
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="smaller numbers, ~2 minutes")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.paths, args.lock_seconds, args.busy_seconds = 500, 6.0, 2.0
        args.clients, args.hang_seconds, args.leads = 8, 30.0, 1500
    start = time.perf_counter()
    rows = run(args)
    print("| what was done | what happens now |\n| --- | --- |")
    for row in rows:
        print(f"| {row['what']} | {row['outcome']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": {
                    "python": platform.python_version(),
                    "cpus": __import__("os").cpu_count(),
                },
                "arguments": {k: str(v) for k, v in vars(args).items()},
                "seconds": round(time.perf_counter() - start, 1),
                "rows": rows,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
