"""The whole ``leadscore features build`` path on a simulated CRM's Parquet files (load and
validate, engine, write Parquet), timed step by step, with pyarrow's default allocator (what
the CLI uses) and with jemalloc, which earlier versions of the CLI set for faster loading.
Used by ``benchmarks/feature_engines.py``, which runs the worker in fresh processes."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from features.batch.kernels import sweep as kernel
from features.spec import FeatureParams


def files_worker(n_leads: int, seed: int, data_dir: str) -> dict[str, float]:
    """``leadscore features build`` on the simulated CRM in ``data_dir`` (n_leads leads):
    read and validate the Parquet files, compute every feature and write the Parquet table,
    each step timed."""
    import pyarrow as pa

    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.trainset.feature_table import (
        feature_spec_for,
        stream_feature_table,
        write_feature_stream,
    )

    kernel.load_compiled()
    started = time.perf_counter()
    dataset = load_dataset(load_config("demo"), Path(data_dir))
    loaded = time.perf_counter()
    params = FeatureParams()
    spec = feature_spec_for(dataset, params)
    with tempfile.TemporaryDirectory() as out:
        rows = write_feature_stream(
            stream_feature_table(dataset, params, spec=spec), spec, Path(out) / "f.parquet"
        )
    done = time.perf_counter()
    return {
        "leads": n_leads,
        "events": len(dataset.events),
        "rows": rows,
        "arrow_pool": pa.default_memory_pool().backend_name,
        "load_seconds": loaded - started,
        "features_and_write_seconds": done - loaded,
        "seconds": done - started,
        "events_per_s": len(dataset.events) / (done - started),
    }


def files_runs(
    n_leads: int,
    seed: int,
    run_files: Callable[[str, str | None], dict[str, float]],
    repeats: int = 2,
) -> dict[str, object]:
    """The CLI path on one simulated CRM with pyarrow's default pool and with jemalloc,
    alternated; the faster run of each. ``run_files(data_dir, pool)`` runs
    :func:`files_worker` in a fresh process (``pool`` None: pyarrow's default)."""
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm

    best: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as data_dir:
        simulate_crm(SimulationConfig(n_leads=n_leads, seed=seed), Path(data_dir))
        for _ in range(repeats):
            for name, pool in (("pyarrow_default_pool", None), ("jemalloc", "jemalloc")):
                run = run_files(data_dir, pool)
                if name not in best or run["seconds"] < best[name]["seconds"]:
                    best[name] = run
    default, jemalloc = best["pyarrow_default_pool"], best["jemalloc"]
    return {
        **best,
        "jemalloc_load_speedup": default["load_seconds"] / jemalloc["load_seconds"],
        "jemalloc_speedup": default["seconds"] / jemalloc["seconds"],
    }


def print_files_runs(path: dict[str, dict[str, float]]) -> None:
    for label in ("pyarrow_default_pool", "jemalloc"):
        run = path[label]
        print(
            f"features build, {run['leads']:,} leads from Parquet, Arrow pool "
            f"{run['arrow_pool']}: load {run['load_seconds']:.1f}s + features and write "
            f"{run['features_and_write_seconds']:.1f}s = {run['seconds']:.1f}s "
            f"({run['events_per_s'] / 1e6:.2f}M events/s)"
        )
