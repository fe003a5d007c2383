"""The workers of ``benchmarks/feature_engines.py``, each run in a fresh process (``--worker KIND``) so
its peak RSS is its own: end-to-end throughput, the peers, the online engine's latency, the
account roll-up on large accounts. They import ``features`` from the tree the parent chose
(this one, or a revision of ``--compare-rev``)."""

from __future__ import annotations

import contextlib
import math
import resource
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from _cli_path import files_worker
from _generated_crm import ATTRIBUTES, EXTRA_TYPES, generate, spec_of

from features.batch.batch_engine import compute_features
from features.batch.kernels import sweep as kernel
from features.ingest import contracts as c
from features.online.online_engine import OnlineEngine
from features.spec import FeatureParams, build_feature_spec
from features.time_rule import DAY_NS
from features.trainset.feature_table import stream_feature_table
from features.trainset.snapshots import build_snapshots

BATCH_REPEATS = 3  # the peers' batch time is the best of this many runs: it takes ~0.1 s


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
    kernel.load_compiled()  # once per process, from numba's cache: not throughput
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
    from _feature_peers import duckdb_counts, max_difference, pandas_features

    data, spec, snaps, batch, batch_seconds = _peer_batch(n_leads, seed)
    started = time.perf_counter()
    reference = pandas_features(spec, data, snaps)
    pandas_seconds = time.perf_counter() - started
    difference = max_difference(spec, batch, reference)
    duck_seconds = duckdb_counts(data, snaps, FeatureParams().windows)
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


def peer_batch_worker(n_leads: int, seed: int) -> dict[str, float]:
    """The batch engine alone on the peers' data (for a compared revision's engine)."""
    data, *_, batch_seconds = _peer_batch(n_leads, seed)
    return {"leads": n_leads, "events": len(data.events), "batch_seconds": batch_seconds}


def _peer_batch(n_leads: int, seed: int) -> tuple:
    """The peers' data, spec and snapshots, the batch engine's table, and its best time."""
    data = generate(n_leads, seed)
    params = FeatureParams()
    spec = spec_of(data, params)
    snaps = build_snapshots(data, params.every_days, params.horizon_days).labelled
    kernel.load_compiled()
    seconds = math.inf
    for _ in range(BATCH_REPEATS):
        started = time.perf_counter()
        batch = compute_features(spec, data.leads, data.events, data.outcomes, snaps)
        seconds = min(seconds, time.perf_counter() - started)
    return data, spec, snaps, batch, seconds


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
    "peer_batch": peer_batch_worker,
    "accounts": accounts_worker,
    "files": files_worker,
}
