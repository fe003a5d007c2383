"""Scoring API throughput and latency: the BentoML service vs ``mlflow models serve``.

Both servers serve the same registered model (a small model trained here on a simulated CRM,
registered as champion in a throwaway SQLite store). The load generator runs in a separate
process (one asyncio loop, one keep-alive connection per client, plain HTTP/1.1) so it does
not share an interpreter with either server. Scenarios, each for ``--seconds``:
- single-lead requests with 5 reasons at 1, 8 and 32 concurrent clients;
- batches of 1000 leads (5 reasons) from one client.
Reported per server and scenario: requests/s, leads/s, p50/p99 latency, errors; and the
BentoML/MLflow ratios measured in the same run. The service runs one worker process per CPU;
MLflow runs with 1 worker and with one per CPU, and the comparison takes its better result per
scenario. On a two-core machine the load generator competes with the servers for CPU, so
absolute numbers are modest and the ratios are the meaningful part.

Usage: ``python benchmarks/serving.py [--seconds 8] [--leads 3000] [--quick]``.
Writes ``benchmarks/results/serving.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _load_generator import measure

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "tests" / "support"))
from serving_support import free_port  # noqa: E402  (tests/support, after the path)

RESULTS = ROOT / "benchmarks" / "results" / "serving.json"
API_KEY = "benchmark-key"
SEED = 42


# --- model and payloads --------------------------------------------------------------------


def train_and_register(store: Path, n_leads: int) -> tuple[str, list[dict], list[dict]]:
    """Train a champion in ``store``; return its URI and 1000 leads as API and pyfunc rows."""
    sys.path.insert(0, str(ROOT))
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from features.spec import FeatureParams
    from models.pyfunc import leads_to_frame
    from models.registry import client_for
    from training.pipeline import train_model
    from training.tracking import example_leads, log_training_run
    from training.training_config import TrainingConfig

    simulate_crm(SimulationConfig(n_leads=n_leads, seed=SEED), store / "data")
    dataset = load_dataset(load_config("demo"), store / "data")
    result = train_model(
        dataset,
        FeatureParams(horizon_days=90, every_days=30),
        TrainingConfig(cv_folds=0),
        seed=SEED,
    )
    uri = f"sqlite:///{store / 'mlflow.db'}"
    logged = log_training_run(
        result,
        dataset,
        tracking_uri=uri,
        artifact_root=store / "artifacts",
        model_name="leadscore",
        resolved_config={"benchmark": "serving"},
    )
    client_for(uri).set_registered_model_alias("leadscore", "champion", logged.version)
    holdout = result.holdout
    sample = holdout.sample(n=min(1000, len(holdout)), random_state=SEED)
    leads = example_leads(dataset, sample, n=len(sample))
    attributes = [f.name for f in result.model.spec.of_family("attribute")]
    frame = leads_to_frame(leads, attributes)
    api_rows = [lead.model_dump(mode="json") for lead in leads]
    frame = frame.astype(object).where(frame.notna(), None)
    return uri, api_rows, frame.to_dict("records")


# --- servers -------------------------------------------------------------------------------


@contextmanager
def server(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[None]:
    """Run a server in its own process group until the block ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        import httpx

        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[2:4]} did not start:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield
        # A worker that failed to start leaves the server up on fewer workers: the numbers
        # would silently describe a smaller server (it happened: the score log's set-up race).
        if "Traceback" in (text := log.read_text(errors="replace")):
            raise RuntimeError(f"{command[2:4]} logged an error while measured:\n{text[-3000:]}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


# --- main ------------------------------------------------------------------------------------


def scenarios(
    api_rows: list[dict], pyfunc_rows: list[dict]
) -> list[tuple[str, int, int, Callable[[str], list[bytes]]]]:
    """(name, clients, leads per request, body builder per server)."""

    def single(kind: str) -> list[bytes]:
        if kind == "bentoml":
            return [json.dumps({"leads": [row], "explain": 5}).encode() for row in api_rows]
        return [
            json.dumps({"dataframe_records": [row], "params": {"explain_k": 5}}).encode()
            for row in pyfunc_rows
        ]

    def batch(kind: str) -> list[bytes]:
        if kind == "bentoml":
            return [json.dumps({"leads": api_rows, "explain": 5}).encode()]
        return [json.dumps({"dataframe_records": pyfunc_rows, "params": {"explain_k": 5}}).encode()]

    n = len(api_rows)
    return [
        ("single lead, 1 client", 1, 1, single),
        ("single lead, 8 clients", 8, 1, single),
        ("single lead, 32 clients", 32, 1, single),
        (f"batch of {n}, 1 client", 1, n, batch),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="Duration per scenario.")
    parser.add_argument("--leads", type=int, default=3000, help="Leads to simulate for training.")
    parser.add_argument("--quick", action="store_true", help="2 s per scenario (smoke run).")
    parser.add_argument(
        "--servers", default="bentoml,mlflow",
        help="Comma-separated servers to measure; results are written only when both run.",
    )  # fmt: skip
    parser.add_argument(
        "--soak-seconds", type=float, default=60.0,
        help="Length of the final 32-client run against the BentoML service (errors must be 0).",
    )  # fmt: skip
    args = parser.parse_args()
    chosen = set(args.servers.split(","))
    soak = 10.0 if args.quick else args.soak_seconds
    seconds = 2.0 if args.quick else args.seconds

    with tempfile.TemporaryDirectory(prefix="leadscore-bench-") as tmp:
        store = Path(tmp)
        t0 = time.perf_counter()
        uri, api_rows, pyfunc_rows = train_and_register(store, args.leads)
        print(f"trained and registered champion in {time.perf_counter() - t0:.0f}s")
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("LEADSCORE_", "MLFLOW_"))
        }
        # `mlflow models serve` execs `uvicorn` by name: put this interpreter's bin first.
        base_env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.defpath])
        cpus = os.cpu_count() or 1
        bento_port = free_port()
        servers: list[tuple[str, int, list[str], dict[str, str], str, str, dict[str, str]]] = [
            (
                "bentoml",
                cpus,  # the service runs workers="cpu_count"
                [
                    *(sys.executable, "-m", "bentoml", "serve", "serving.service:LeadScoreService"),
                    *("--host", "127.0.0.1", "--port", str(bento_port)),
                ],
                {
                    **base_env,
                    "LEADSCORE_MLFLOW_TRACKING_URI": uri,
                    "LEADSCORE_API_KEYS": API_KEY,
                    "LEADSCORE_DATA_DIR": str(store / "data"),
                    "BENTOML_HOME": str(store / "bentoml"),
                },
                f"http://127.0.0.1:{bento_port}",
                "/score",
                {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
            )
        ]
        # The peer at 1 worker and at one per CPU; the comparison takes its better result per
        # scenario (with 2 workers it stalls ~50 ms per request at 1 client, measured).
        for workers in sorted({1, cpus}):
            port = free_port()
            servers.append(
                (
                    "mlflow",
                    workers,
                    [
                        *(sys.executable, "-m", "mlflow", "models", "serve"),
                        *("-m", "models:/leadscore@champion", "--env-manager", "local"),
                        *("-h", "127.0.0.1", "-p", str(port), "-w", str(workers)),
                    ],
                    {**base_env, "MLFLOW_TRACKING_URI": uri},
                    f"http://127.0.0.1:{port}",
                    "/invocations",
                    {"Content-Type": "application/json"},
                )
            )
        rows: list[dict[str, Any]] = []
        soak_row: dict[str, Any] = {}
        for kind, workers, command, env, base, route, headers in servers:
            if kind not in chosen:
                continue
            ready = f"{base}/readyz" if kind == "bentoml" else f"{base}/ping"
            with server(command, env, ready, store / f"{kind}-{workers}.log"):
                for name, clients, per_request, build in scenarios(api_rows, pyfunc_rows):
                    bodies = build(kind)
                    measure(base + route, headers, bodies[:50], clients, 1.0)  # warm-up
                    stats = measure(base + route, headers, bodies, clients, seconds)
                    stats["leads_per_s"] = stats["req_per_s"] * per_request
                    rows.append({"server": kind, "workers": workers, "scenario": name, **stats})
                    print(
                        f"{kind:8s} {workers}w {name:26s} {stats['req_per_s']:9.1f} req/s "
                        f"p50 {stats['p50_ms']:8.1f} ms  p99 {stats['p99_ms']:8.1f} ms  "
                        f"errors {stats['errors']}",
                        flush=True,
                    )
                if kind == "bentoml" and soak > 0:
                    name, clients, _, build = scenarios(api_rows, pyfunc_rows)[2]
                    stats = measure(base + route, headers, build(kind), clients, soak)
                    soak_row = {"server": kind, "scenario": f"{name}, {soak:.0f} s", **stats}
                    print(
                        f"{kind:8s} {soak_row['scenario']:26s} {stats['req_per_s']:9.1f} req/s "
                        f"p99 {stats['p99_ms']:8.1f} ms  errors {stats['errors']}",
                        flush=True,
                    )

    if chosen != {"bentoml", "mlflow"}:
        return 0  # a partial run (development): nothing to compare, nothing written
    by: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:  # per server and scenario, its best configuration
        key = (row["server"], row["scenario"])
        if key not in by or row["req_per_s"] > by[key]["req_per_s"]:
            by[key] = row
    ratios = []
    header = f"{'scenario':28s} {'bentoml req/s':>14s} {'mlflow req/s':>13s} {'ratio':>6s}"
    print("\n" + header + f" {'p50 b/m ms':>16s} {'p99 b/m ms':>18s} {'errors b/m':>11s}")
    for name, *_ in scenarios(api_rows, pyfunc_rows):
        b, m = by[("bentoml", name)], by[("mlflow", name)]
        ratio = b["req_per_s"] / m["req_per_s"] if m["req_per_s"] else float("nan")
        ratios.append(
            {
                "scenario": name,
                "bentoml_over_mlflow_req_per_s": ratio,
                "mlflow_workers": m["workers"],
            }
        )
        print(
            f"{name:28s} {b['req_per_s']:14.1f} {m['req_per_s']:13.1f} {ratio:6.2f} "
            f"{b['p50_ms']:7.1f}/{m['p50_ms']:<8.1f} {b['p99_ms']:8.1f}/{m['p99_ms']:<9.1f} "
            f"{b['errors']:5d}/{m['errors']:<5d}"
        )
    payload = {
        "benchmark": "serving",
        "seconds_per_scenario": seconds,
        "simulated_leads": args.leads,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "notes": "BentoML: one worker process per CPU; MLflow: 1 worker and one per CPU, the "
        "better per scenario; asyncio load generator in a separate process on the same host",
        "results": rows,
        "ratios": ratios,
        "soak": soak_row if soak > 0 else None,
    }
    from common.files import write_text_atomically

    write_text_atomically(json.dumps(payload, indent=2), RESULTS)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
