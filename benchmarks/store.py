"""The live lead store on SQLite and on PostgreSQL, through a real `bentoml serve` (2 workers):

- ingest: ``POST /v1/batch`` of 100 track events (distinct messageIds: nothing is deduplicated)
  from 8 clients; next to it, in the same run, the ceiling: the driver's ``executemany`` of the
  same rows into the same table, 100 rows a transaction, no service in between;
- reads: ``GET /leads/{id}`` of leads with 200 stored events each (scores current), 8 clients;
- rescoring: a store of ``--rescore-leads`` simulated leads scored by v1; v2 becomes champion
  and the service rescores every lead in the background. Reported: leads/s, and per window of
  a few seconds while it runs, the ``GET /leads/{id}`` requests/s, p99, errors and the share of
  leads already on v2 (the others are answered with v1's score).

The load generator runs in a separate process (``_load_generator.py``); the machine has two
cores for everything, so the ceiling ratio is the meaningful part of the ingest numbers.
PostgreSQL runs with its default durability (fsync on).

Usage: ``python benchmarks/store.py [--quick] [--seconds 10] [--rescore-leads 100000]``.
Writes ``benchmarks/results/store.json``.
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

import numpy as np
from _load_generator import measure
from _store_data import (
    executemany_ceiling,
    fill_leads_with_events,
    open_store,
    tracking_bodies,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

from postgres_server import running_postgres  # noqa: E402  (tests/support, after the path)
from serving_support import (  # noqa: E402
    free_port,
    register_trained,
    start_process,
    stop,
    tracking_uri,
    wait_ready,
)

RESULTS = ROOT / "benchmarks" / "results" / "store.json"
KEY = "benchmark-key"
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


class Service:
    """``bentoml serve`` of the service on one store, started and stopped with a block."""

    def __init__(self, mlflow_folder: Path, store_url: str, log: Path) -> None:
        self.port = free_port()
        env = {
            "LEADSCORE_API_KEYS": KEY,
            "LEADSCORE_STORE_URL": store_url,
            "LEADSCORE_RELOAD_SECONDS": "1",
        }
        self.process = start_process(mlflow_folder, self.port, log, env)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log

    def __enter__(self) -> Service:
        from serving_support import RunningService

        wait_ready(RunningService(self.url, self.process, self.log), 300)
        return self

    def __exit__(self, *_: object) -> None:
        stop(self.process)
        if "Traceback" in self.log.read_text(errors="replace"):
            raise RuntimeError(f"the service logged a traceback: see {self.log}")

    def stats(self) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.url}/stats", headers=HEADERS, timeout=60).json()

    def wait_scored(self, version: str, total: int, timeout: float = 3600) -> float:
        """Seconds until every one of ``total`` leads holds a current score of ``version``."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            stats = self.stats()
            if (
                stats["scores_by_model_version"].get(version) == total
                and not stats["leads_awaiting_score"]
            ):
                return time.perf_counter() - started
            time.sleep(0.5)
        raise TimeoutError(f"leads not all scored by v{version} in {timeout}s: {self.stats()}")


# --- ingest ---------------------------------------------------------------------------------


def bench_ingest(
    mlflow: Path, store_url: str, ceiling_url: str, seconds: float, work: Path
) -> dict:
    bodies, rows = tracking_bodies(int(seconds * 600), seed=1)  # up to 60k events/s unrepeated
    with Service(mlflow, store_url, work / "ingest.log") as service:
        result = measure(f"{service.url}/v1/batch", HEADERS, bodies, 8, seconds)
        stored = service.stats()["events"]
    sent_rows = rows[:stored]  # the ceiling inserts as many of the same rows
    ceiling = executemany_ceiling(ceiling_url, sent_rows)
    events_per_s = result["req_per_s"] * 100
    return {
        "clients": 8, "events_per_batch": 100, "batches": result["requests"],
        "errors": result["errors"], "repeated": result["repeated"],
        "events_per_s": round(events_per_s), "p50_ms": round(result["p50_ms"], 1),
        "p99_ms": round(result["p99_ms"], 1), "events_stored": stored,
        "executemany_events_per_s": round(ceiling),
        "share_of_ceiling": round(events_per_s / ceiling, 3),
    }  # fmt: skip


# --- reads ----------------------------------------------------------------------------------


def bench_reads(
    mlflow: Path, store_url: str, version: str, seconds: float, work: Path, n_leads: int
) -> dict:
    ids = fill_leads_with_events(store_url, n_leads, 200, seed=2)
    rng = np.random.default_rng(3)
    paths = [f"/leads/{ids[i]}" for i in rng.integers(0, len(ids), 50_000)]
    with Service(mlflow, store_url, work / "reads.log") as service:
        scoring = service.wait_scored(version, len(ids))
        result = measure(f"{service.url}/leads", HEADERS, [], 8, seconds, paths=paths)
    return {
        "leads": n_leads, "events_per_lead": 200, "clients": 8, "requests": result["requests"],
        "errors": result["errors"], "req_per_s": round(result["req_per_s"]),
        "p50_ms": round(result["p50_ms"], 1), "p99_ms": round(result["p99_ms"], 1),
        "initial_scoring_leads_per_s": round(n_leads / scoring),
    }  # fmt: skip


# --- rescoring after a champion change --------------------------------------------------------


def bench_rescoring(
    mlflow: Path, store_url: str, crm: Any, new_version: Any, seconds: float, work: Path
) -> dict:
    import threading

    from store.crm_import import import_dataset

    store = open_store(store_url)
    started = time.perf_counter()
    imported = import_dataset(store, crm)
    import_seconds = time.perf_counter() - started
    store.close()
    n = imported.leads_created
    rng = np.random.default_rng(4)
    ids = crm.leads["lead_id"].to_numpy()
    paths = [f"/leads/{ids[i]}?events=20&history=5" for i in rng.integers(0, n, 50_000)]
    with Service(mlflow, store_url, work / "rescore.log") as service:
        old = service.stats()["model_version"]
        first = service.wait_scored(old, n)
        version = new_version()  # the champion alias moves; the service follows it
        started = time.perf_counter()
        done: dict[str, float] = {}
        poller = threading.Thread(
            target=lambda: done.update(s=service.wait_scored(version, n)), daemon=True
        )
        poller.start()
        windows = []
        while poller.is_alive():
            window = measure(f"{service.url}/leads", HEADERS, [], 8, seconds, paths=paths)
            on_new = service.stats()["scores_by_model_version"].get(version, 0)
            windows.append(
                {
                    "t_s": round(time.perf_counter() - started, 1),
                    "share_on_new_version": round(on_new / n, 3),
                    "req_per_s": round(window["req_per_s"]),
                    "p99_ms": round(window["p99_ms"], 1),
                    "errors": window["errors"],
                }
            )
        poller.join()
    return {
        "leads": n, "events": imported.events_stored, "import_s": round(import_seconds, 1),
        "import_events_per_s": round(imported.events_stored / import_seconds),
        "initial_scoring_leads_per_s": round(n / first), "old_version": old,
        "new_version": version, "rescoring_s": round(done["s"], 1),
        "rescoring_leads_per_s": round(n / done["s"]), "reads_while_rescoring": windows,
    }  # fmt: skip


def store_url(database: str, work: Path, pg: Any, name: str) -> str:
    """A fresh, empty store database."""
    if database == "sqlite":
        return f"sqlite:///{work / database / name / 'leadscore-store.sqlite'}"
    return pg.create_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rescore-leads", type=int, default=100_000)
    parser.add_argument("--read-leads", type=int, default=2_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds each")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rescore_leads, args.read_leads = 3.0, 3_000, 300
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm

    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "seconds_per_measurement": args.seconds,
    }
    with (
        tempfile.TemporaryDirectory(prefix="leadscore-bench-store-") as tmp,
        running_postgres(durable=True) as pg,
    ):
        work = Path(tmp)
        mlflow = work / "mlflow"
        mlflow.mkdir()
        print("training the champion (3000 simulated leads)", flush=True)
        version = register_trained(mlflow, n_leads=3000, seed=7)
        # 100k leads over one year of history: ~21 events a lead.
        simulate_crm(SimulationConfig(n_leads=args.rescore_leads, seed=11, days=365), work / "crm")
        crm = load_dataset(load_config("demo"), work / "crm")

        def new_version() -> str:
            # The same model registered again: the rescoring work is the same as a new one's.
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri(mlflow), registry_uri=tracking_uri(mlflow))
            source = client.get_model_version("leadscore", version).source
            created = client.create_model_version("leadscore", source)
            client.set_registered_model_alias("leadscore", "champion", created.version)
            return str(created.version)

        for database in args.databases.split(","):

            def url(name: str, database: str = database) -> str:
                return store_url(database, work, pg, name)

            print(f"== {database}: ingest", flush=True)
            ingest = bench_ingest(mlflow, url("ingest"), url("ceiling"), args.seconds, work)
            print(json.dumps(ingest), flush=True)
            print(f"== {database}: reads", flush=True)
            current = _champion(mlflow)
            reads = bench_reads(mlflow, url("reads"), current, args.seconds, work, args.read_leads)
            print(json.dumps(reads), flush=True)
            print(f"== {database}: rescoring {args.rescore_leads} leads", flush=True)
            rescoring = bench_rescoring(
                mlflow, url("rescore"), crm, new_version, args.seconds / 2, work
            )
            print(json.dumps(rescoring), flush=True)
            results[database] = {"ingest": ingest, "reads": reads, "rescoring": rescoring}
    if not args.quick:
        from common.files import write_text_atomically

        write_text_atomically(json.dumps(results, indent=2) + "\n", RESULTS)
        print(f"wrote {RESULTS}")


def _champion(mlflow: Path) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri(mlflow), registry_uri=tracking_uri(mlflow))
    return str(client.get_model_version_by_alias("leadscore", "champion").version)


if __name__ == "__main__":
    main()
