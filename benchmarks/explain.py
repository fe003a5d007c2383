"""Exact TreeSHAP throughput: FastTreeShap against shap.TreeExplainer and LightGBM pred_contrib.

Trains one realistic binary LightGBM model (default 300 trees, 31 leaves, 40 features of which
4 are native categoricals, NaNs and exact zeros in the numeric columns) on synthetic rows, then
explains the same rows with:

1. ``shap.TreeExplainer(booster).shap_values(X)`` (the peer the issue's target is against);
2. ``booster.predict(X, pred_contrib=True)`` (the reference values);
3. ``FastTreeShap(booster).shap_values(X)``;

and ``top_k_reasons`` on the result. Each timing is the median of ``--repeats`` runs; numba
compile time is measured separately with a fresh (empty) numba cache and excluded. Reports rows/s,
ratios against shap.TreeExplainer from the same run, and the max abs difference against
pred_contrib.

Usage: ``python benchmarks/explain.py [--train-rows 200000] [--rows 20000] [--quick]``.
Writes ``benchmarks/results/explain.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "explain.json"
N_FEATURES = 40
CATEGORICAL = (0, 1, 2, 3)


def generate(n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic leads: 4 categorical codes, 36 numeric columns with NaNs and zeros, a label."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    X = rng.normal(size=(n_rows, N_FEATURES))
    for j, n_levels in zip(CATEGORICAL, (50, 20, 8, 120), strict=True):
        X[:, j] = rng.integers(0, n_levels, n_rows)
    numeric = X[:, len(CATEGORICAL) :]
    numeric[rng.random(numeric.shape) < 0.05] = np.nan
    numeric[rng.random(numeric.shape) < 0.05] = 0.0
    filled = np.nan_to_num(numeric)
    logit = (
        filled[:, :10] @ rng.normal(scale=0.4, size=10)
        + np.sin(2 * filled[:, 10])
        + filled[:, 11] * filled[:, 12]
        + np.isin(X[:, 0], [1, 3, 7, 11]) * 1.2
        - (X[:, 2] == 5) * 0.8
        + np.isnan(numeric[:, 13]) * 0.7
        - 1.5
    )
    y = (logit + rng.logistic(size=n_rows) > 0).astype(float)
    return X, y


def train(X: np.ndarray, y: np.ndarray, trees: int, seed: int):
    """The realistic model: leaf-wise, 31 leaves, native categorical splits."""
    import lightgbm as lgb

    params = {
        "objective": "binary",
        "num_leaves": 31,
        "learning_rate": 0.05,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": seed,
        "verbose": -1,
    }
    data = lgb.Dataset(X, y, categorical_feature=list(CATEGORICAL))
    return lgb.train(params, data, num_boost_round=trees)


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def write_results(results: dict[str, object]) -> None:
    """Atomic write: a reader never sees a half-written file."""
    from common.files import write_text_atomically

    write_text_atomically(json.dumps(results, indent=2), RESULTS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=20_000, help="rows explained per repeat")
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.train_rows, args.rows, args.trees, args.repeats = 20_000, 5_000, 100, 1

    # An empty numba cache makes the compile-time figure honest; it is discarded afterwards.
    cache_dir = tempfile.TemporaryDirectory(prefix="numba-cache-")
    os.environ["NUMBA_CACHE_DIR"] = cache_dir.name
    sys.path.insert(0, str(ROOT))
    import numba
    import shap

    from models.treeshap import FastTreeShap, top_k_reasons

    X_all, y = generate(args.train_rows, args.seed)
    started = time.perf_counter()
    booster = train(X_all, y, args.trees, args.seed)
    train_s = time.perf_counter() - started
    X = np.ascontiguousarray(X_all[: args.rows])

    started = time.perf_counter()
    fast = FastTreeShap(booster)
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    fast.shap_values(X[:1])  # serial kernel + tables
    fast.shap_values(X[:1000])  # parallel kernel
    first_call_s = time.perf_counter() - started
    started = time.perf_counter()
    FastTreeShap(booster).shap_values(X[:1])
    warm_setup_s = time.perf_counter() - started  # parse + tables, kernels already compiled
    nodes, leaves = fast._kernel_arrays()
    table_bytes = int(leaves[5].nbytes)
    slots = np.diff(leaves[1])[nodes[5]]

    explainer = shap.TreeExplainer(booster)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shap's "output has changed to a list" notice
        shap_s, shap_out = median_seconds(lambda: explainer.shap_values(X), args.repeats)
    native_s, reference = median_seconds(
        lambda: booster.predict(X, pred_contrib=True), args.repeats
    )
    fast_s, fast_out = median_seconds(lambda: fast.shap_values(X), args.repeats)
    topk_s, _ = median_seconds(lambda: top_k_reasons(fast_out[:, :-1], 5), args.repeats)

    shap_values = np.asarray(shap_out)
    shap_values = shap_values if shap_values.ndim == 2 else shap_values[-1]
    n = len(X)
    methods = {
        "shap.TreeExplainer": {"seconds": shap_s, "max_abs_diff": None},
        "lightgbm pred_contrib": {"seconds": native_s, "max_abs_diff": 0.0},
        "FastTreeShap": {
            "seconds": fast_s,
            "max_abs_diff": float(np.abs(fast_out - reference).max()),
        },
    }
    methods["shap.TreeExplainer"]["max_abs_diff"] = float(
        np.abs(shap_values - reference[:, : shap_values.shape[1]]).max()
    )
    for stats in methods.values():
        stats["rows_per_s"] = n / stats["seconds"]
        stats["ratio_vs_shap"] = shap_s / stats["seconds"]
    results = {
        "config": {
            "train_rows": args.train_rows,
            "rows_explained": n,
            "trees": booster.num_trees(),
            "num_leaves": 31,
            "features": N_FEATURES,
            "categorical_features": len(CATEGORICAL),
            "repeats": args.repeats,
            "seed": args.seed,
            "cpu_count": os.cpu_count(),
            "numba_threads": numba.get_num_threads(),
            "load_avg_at_end": os.getloadavg()[0],
        },
        "train_seconds": train_s,
        "methods": methods,
        "fast_tree_shap": {
            "parse_seconds": parse_s,
            "compile_and_tables_first_call_seconds": first_call_s,
            "setup_seconds_when_compiled": warm_setup_s,
            "table_megabytes": table_bytes / 2**20,
            "mean_unique_features_per_leaf_path": float(slots.mean()),
            "max_unique_features_per_leaf_path": int(slots.max()),
        },
        "top_k_reasons": {"k": 5, "seconds": topk_s, "rows_per_s": n / topk_s},
    }
    print(f"{n} rows, {booster.num_trees()} trees, median of {args.repeats}")
    print(f"{'method':<24}{'rows/s':>12}{'vs shap':>10}{'max |diff|':>14}")
    for name, stats in methods.items():
        print(
            f"{name:<24}{stats['rows_per_s']:>12,.0f}{stats['ratio_vs_shap']:>9.2f}x"
            f"{stats['max_abs_diff']:>14.2e}"
        )
    print(f"top_k_reasons(k=5): {n / topk_s:,.0f} rows/s")
    print(
        f"FastTreeShap setup: parse {parse_s:.2f}s, first call (numba compile + tables) "
        f"{first_call_s:.1f}s, setup once compiled {warm_setup_s:.2f}s, "
        f"tables {table_bytes / 2**20:.1f} MiB"
    )
    write_results(results)
    cache_dir.cleanup()
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
