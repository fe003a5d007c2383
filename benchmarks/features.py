"""Feature engines: batch throughput, its ratio to plain pandas and DuckDB, online latency, memory.

Measures, in one run on the same generated CRM:
- batch engine end to end (snapshots + labels + every feature) in events/s, for two input
  sizes with the events lead by lead, and for the large one with the same events in time
  order, each in a fresh process so its peak RSS is its own;
- the same spec written as a straightforward pandas merge + group-by (checked equal to the
  batch engine on every row) and the windowed counts alone as a DuckDB range join, both on a
  smaller slice, as the peers the batch engine is compared with;
- the online engine's latency per lead with 200 events (p50/p99);
- the whole ``leadscore features build`` path on a simulated CRM's Parquet files (load and
  validate, engine, write Parquet), with Arrow's allocator as the CLI sets it
  (``features.batch.memory_pool``) and with pyarrow's default, alternated in fresh processes.

The end-to-end throughput runs ``--repeats`` times per input (fresh processes, alternating
the inputs): the machine is shared and one run can be slowed by another tenant, so the median run
is reported with the slowest and fastest next to it.

Every worker runs with the Arrow allocator the CLI uses (``Settings.arrow_memory_pool``).

Usage: ``python benchmarks/features.py [--leads 1000000] [--repeats 3] [--quick]``. Writes
``benchmarks/results/features.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _cli_path import files_runs, files_worker, print_files_runs  # noqa: E402
from _feature_peers import duckdb_counts, max_difference, pandas_features  # noqa: E402
from _generated_crm import ATTRIBUTES, EVENT_ORDERS, EXTRA_TYPES, generate, spec_of  # noqa: E402

from common.files import write_text_atomically  # noqa: E402
from common.settings import Settings  # noqa: E402
from features import contracts as c  # noqa: E402
from features import kernel  # noqa: E402
from features.batch.batch_engine import compute_features  # noqa: E402
from features.batch.memory_pool import use_arrow_memory_pool  # noqa: E402
from features.online.online_engine import OnlineEngine  # noqa: E402
from features.spec import FeatureParams, build_feature_spec  # noqa: E402
from features.time_rule import DAY_NS  # noqa: E402
from features.trainset.feature_table import stream_feature_table  # noqa: E402
from features.trainset.snapshots import build_snapshots  # noqa: E402

CLI_POOL = Settings.model_fields["arrow_memory_pool"].default

RESULTS = ROOT / "benchmarks" / "results" / "features.json"


def reset_peak_rss() -> None:
    """Start the peak-RSS count afresh (Linux), so generating the input is not measured."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_rss_mb() -> float:
    """Peak RSS since the last :func:`reset_peak_rss` (VmHWM), in MiB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def release_freed_memory() -> None:
    """Hand memory freed while generating the input back to the OS (glibc's and Arrow's
    allocators), so the peak over the inputs counts what the engine takes, not what it reuses
    from the generator's garbage (sorting the events in time order frees ~500 MB)."""
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


# --- workers (each in its own process) ---------------------------------------------------------


def throughput_worker(n_leads: int, seed: int, event_order: str = "lead") -> dict[str, float]:
    """End to end on ``n_leads``, the product's path (``leadscore features build``): lay
    snapshots, label them and compute every feature, streamed chunk by chunk of leads."""
    data = generate(n_leads, seed, event_order=event_order)
    params = FeatureParams()
    spec = spec_of(data, params)
    kernel.load_compiled()  # once per process, ~0.3 s from numba's cache: not throughput
    release_freed_memory()
    baseline = current_rss_mb()
    reset_peak_rss()
    started, cpu_started = time.perf_counter(), time.process_time()
    rows = 0
    for part in stream_feature_table(data, params, spec=spec):
        rows += len(part)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak = peak_rss_mb()
    return {
        "leads": n_leads,
        "event_order": event_order,
        "events": len(data.events),
        "snapshots": rows,
        "features": len(spec.names),
        "seconds": seconds,
        "events_per_s": len(data.events) / seconds,
        # CPU time of every thread: what the engine costs, apart from how busy the machine
        # kept both cores (seconds x cores is the most it can be).
        "cpu_seconds": cpu_seconds,
        "snapshot_rows_per_s": rows / seconds,
        "rss_inputs_mb": baseline,
        "peak_rss_mb": peak,
        "peak_over_inputs_mb": peak - baseline,
    }


def peer_worker(n_leads: int, seed: int) -> dict[str, float]:
    """Batch engine vs the pandas implementation and DuckDB counts, same data, same run."""
    data = generate(n_leads, seed)
    params = FeatureParams()
    spec = spec_of(data, params)
    snaps = build_snapshots(data, params.every_days, params.horizon_days).labelled
    kernel.load_compiled()
    started = time.perf_counter()
    batch = compute_features(spec, data.leads, data.events, data.outcomes, snaps)
    batch_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reference = pandas_features(spec, data, snaps)
    pandas_seconds = time.perf_counter() - started
    difference = max_difference(spec, batch, reference)
    duck_seconds = duckdb_counts(data, snaps, params.windows)
    return {
        "leads": n_leads,
        "events": len(data.events),
        "snapshots": len(snaps),
        "batch_seconds": batch_seconds,
        "pandas_seconds": pandas_seconds,
        "duckdb_counts_only_seconds": duck_seconds,
        "batch_events_per_s": len(data.events) / batch_seconds,
        "pandas_events_per_s": len(data.events) / pandas_seconds,
        "speedup_vs_pandas": pandas_seconds / batch_seconds,
        "speedup_vs_duckdb_counts_only": duck_seconds / batch_seconds,
        "max_abs_difference_vs_pandas": difference,
    }


def online_worker(n_events: int, seed: int, repeats: int) -> dict[str, float]:
    """Latency of one online request for a lead with ``n_events`` events."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    spec = build_feature_spec(ATTRIBUTES, [*c.KNOWN_EVENT_TYPES, *EXTRA_TYPES], FeatureParams())
    engine = OnlineEngine(spec)
    now = np.datetime64("2025-06-01T12:00:00", "ns")
    times = now - rng.integers(0, 365 * DAY_NS, n_events).astype("timedelta64[ns]")
    vocabulary = np.array([*c.KNOWN_EVENT_TYPES, *EXTRA_TYPES], dtype=object)
    kinds = vocabulary[rng.integers(0, vocabulary.size, n_events)]
    closed = np.array([now - np.timedelta64(100, "D")], dtype="datetime64[ns]")
    won = np.array([False])
    attributes = {"industry": "saas", "annual_revenue": 1e6}
    created = pd.Timestamp("2024-01-01", tz="UTC")
    as_of = pd.Timestamp(now, tz="UTC")
    latencies = np.empty(repeats)
    for i in range(repeats + 200):
        started = time.perf_counter_ns()
        engine.compute(
            attributes, times, kinds, as_of, created_at=created,
            outcome_closed_at=closed, outcome_won=won, account_engaged_colleagues=2,
        )  # fmt: skip
        if i >= 200:  # warm-up excluded
            latencies[i - 200] = (time.perf_counter_ns() - started) / 1000
    return {
        "events_per_lead": n_events,
        "requests": repeats,
        "p50_us": float(np.percentile(latencies, 50)),
        "p99_us": float(np.percentile(latencies, 99)),
        "mean_us": float(latencies.mean()),
    }


def accounts_worker(n_leads: int, seed: int) -> dict[str, float]:
    """The same leads and events in accounts of ~3 leads and in accounts of 1,000 leads:
    the account roll-up is counted once per account and as_of, so large accounts should cost
    about the same (it searched every colleague's events per snapshot before)."""
    data = generate(n_leads, seed)
    spec = spec_of(data, FeatureParams())
    kernel.load_compiled()
    large = data.leads.assign(**{c.ACCOUNT_ID: "A" + (data.leads.index // 1000).astype("str")})
    seconds = {"small": math.inf, "large": math.inf}
    for _ in range(3):  # alternated, best of three: the machine is shared
        for name, dataset in (("small", data), ("large", replace(data, leads=large))):
            started = time.perf_counter()
            for _ in stream_feature_table(dataset, FeatureParams(), spec=spec):
                pass
            seconds[name] = min(seconds[name], time.perf_counter() - started)
    return {
        "leads": n_leads,
        "events": len(data.events),
        "seconds_accounts_of_3": seconds["small"],
        "seconds_accounts_of_1000": seconds["large"],
        "slowdown": seconds["large"] / seconds["small"],
    }


WORKERS = {
    "throughput": throughput_worker,
    "peer": peer_worker,
    "accounts": accounts_worker,
    "files": files_worker,
}


def run_worker(kind: str, n_leads: int, seed: int, *options: str) -> dict[str, float]:
    """Run a worker in a fresh Python process so its peak RSS is its own."""
    command = [sys.executable, __file__, "--worker", kind, "--leads", str(n_leads)]
    command += ["--seed", str(seed), *options]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode:
        raise RuntimeError(f"{kind} worker failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_run(runs: list[dict[str, float]]) -> dict[str, object]:
    """The median run by time (its own numbers: time, CPU time, memory), with every run's
    events/s, CPU time and peak memory over the inputs alongside."""
    ordered = sorted(runs, key=lambda run: run["seconds"])
    return {
        **ordered[len(ordered) // 2],  # of an even count, the slower middle run
        "runs": len(runs),
        "events_per_s_all": [run["events_per_s"] for run in runs],
        "cpu_seconds_all": [run["cpu_seconds"] for run in runs],
        "peak_over_inputs_mb_all": [run["peak_over_inputs_mb"] for run in runs],
    }


def write_results(results: dict[str, object]) -> None:
    write_text_atomically(json.dumps(results, indent=2), RESULTS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000, help="large input size")
    parser.add_argument("--peer-leads", type=int, default=20_000, help="size for pandas/DuckDB")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3, help="end-to-end runs per size")
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--event-order", choices=EVENT_ORDERS, default="lead", help=argparse.SUPPRESS
    )
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--arrow-pool", default=CLI_POOL, help=argparse.SUPPRESS)
    parser.add_argument("--files-leads", type=int, default=200_000, help="size for the CLI path")
    args = parser.parse_args()
    if args.worker:
        use_arrow_memory_pool(args.arrow_pool)
        extra = {
            "throughput": {"event_order": args.event_order},
            "files": {"data_dir": args.data_dir},
        }.get(args.worker, {})
        print(json.dumps(WORKERS[args.worker](args.leads, args.seed, **extra)))
        return 0
    large = 50_000 if args.quick else args.leads
    peer = 5_000 if args.quick else args.peer_leads
    inputs = [(large // 5, "lead"), (large, "lead"), (large, "time")]
    results: dict[str, object] = {"argv": sys.argv[1:], "cpu_count": os.cpu_count()}
    runs: dict[tuple[int, str], list[dict[str, float]]] = {key: [] for key in inputs}
    for _ in range(max(args.repeats, 1)):
        for n, order in inputs:
            runs[n, order].append(run_worker("throughput", n, args.seed, "--event-order", order))
    results["throughput"] = [median_run(runs[key]) for key in inputs]
    results["peers"] = run_worker("peer", peer, args.seed)
    results["large_accounts"] = run_worker("accounts", peer, args.seed)
    results["online"] = online_worker(200, args.seed, 500 if args.quick else 5000)
    files_leads = 10_000 if args.quick else args.files_leads

    def run_files(data_dir: str, pool: str) -> dict[str, float]:
        options = ("--data-dir", data_dir, "--arrow-pool", pool)
        return run_worker("files", files_leads, args.seed, *options)

    results["cli_path"] = files_runs(files_leads, args.seed, run_files, CLI_POOL)
    write_results(results)
    print_table(results)
    return 0


def print_table(results: dict[str, object]) -> None:
    print(f"{'batch engine (end to end, median run)':<38}{'leads':>10}{'events':>12}{'rows':>11}"
          f"{'events/s':>12}{'slowest-fastest':>18}{'CPU s':>13}{'over inputs MB':>16}")  # fmt: skip
    for row in results["throughput"]:
        rates, memory = row["events_per_s_all"], row["peak_over_inputs_mb_all"]
        cpu = row["cpu_seconds_all"]
        order = f"events in {row['event_order']} order"
        print(
            f"{order:<38}{row['leads']:>10,}{row['events']:>12,}{row['snapshots']:>11,}"
            f"{row['events_per_s']:>12,.0f}{f'{min(rates) / 1e6:.2f}-{max(rates) / 1e6:.2f}M':>18}"
            f"{f'{min(cpu):.1f}-{max(cpu):.1f}':>13}{f'{min(memory):.0f}-{max(memory):.0f}':>16}"
        )
    peers = results["peers"]
    print(
        f"peers on {peers['leads']:,} leads / {peers['events']:,} events: batch "
        f"{peers['batch_seconds']:.2f}s, pandas {peers['pandas_seconds']:.2f}s "
        f"(x{peers['speedup_vs_pandas']:.1f}), DuckDB counts only "
        f"{peers['duckdb_counts_only_seconds']:.2f}s (x{peers['speedup_vs_duckdb_counts_only']:.1f}),"
        f" max |batch - pandas| = {peers['max_abs_difference_vs_pandas']:.2e}"
    )
    accounts = results["large_accounts"]
    print(
        f"account roll-up on {accounts['leads']:,} leads: accounts of ~3 "
        f"{accounts['seconds_accounts_of_3']:.2f}s, of 1,000 {accounts['seconds_accounts_of_1000']:.2f}s"
        f" (x{accounts['slowdown']:.2f})"
    )
    online = results["online"]
    print(
        f"online engine, {online['events_per_lead']} events/lead: p50 {online['p50_us']:.0f} us, "
        f"p99 {online['p99_us']:.0f} us"
    )
    print_files_runs(results["cli_path"])
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
