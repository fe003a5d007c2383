"""End to end at scale: simulate -> features -> score with reasons, local and on Dask.

    python benchmarks/scale.py [--leads 1000000] [--explain 3]

Each stage runs in its own process; its wall time and the peak RSS of its whole process tree
(Dask workers included, sampled every 0.1 s) are recorded. The model is trained once on a
20,000-lead simulation of the same CRM (setup, reported apart). Features are computed as of
one moment for every lead (nightly rescoring), then scored with ``--explain`` reasons each.
The last table compares explanation speed: FastTreeShap vs shap.TreeExplainer on the same
model and rows. Writes benchmarks/results/scale.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
AS_OF = "2025-12-01T00:00:00+00:00"

MODEL = "leadscore-demo"  # what `leadscore train --dataset demo` registers


def _stage_features(data: str, out: str, engine: str) -> None:
    import pandas as pd

    from features.batch.batch_engine import compute_features
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from models.batch_scoring import scoring_snapshots
    from models.registry import alias_version, client_for, load_bundle

    client = client_for(os.environ["LEADSCORE_MLFLOW_TRACKING_URI"])
    model = load_bundle(client, MODEL, alias_version(client, MODEL, "champion"))
    dataset = load_dataset(load_config("demo"), data)
    snapshots = scoring_snapshots(dataset, pd.Timestamp(AS_OF))
    args = (model.spec, dataset.leads, dataset.events, dataset.outcomes, snapshots)
    if engine == "dask":
        from features.batch.dask_features import compute_features_distributed
        from leadscore.cluster import dask_client

        with dask_client(None) as client_:
            frame = compute_features_distributed(client_, *args, open_deals=dataset.open_deals)
    else:
        frame = compute_features(*args, open_deals=dataset.open_deals)
    frame.to_parquet(out, index=False)
    print(json.dumps({"rows": len(frame), "events": len(dataset.events)}))


def _stage_score(features: str, out: str, engine: str, explain: int) -> None:
    import pandas as pd

    from models.batch_scoring import score_features_in_chunks
    from models.registry import alias_version, client_for, load_bundle

    client = client_for(os.environ["LEADSCORE_MLFLOW_TRACKING_URI"])
    model = load_bundle(client, MODEL, alias_version(client, MODEL, "champion"))
    frame = pd.read_parquet(features)
    if engine == "dask":
        from leadscore.cluster import dask_client
        from models.batch_scoring import score_features_distributed

        with dask_client(None) as client_:
            scores = score_features_distributed(client_, model, frame, explain)
    else:
        scores = score_features_in_chunks(model, frame, explain)
    scores.to_parquet(out, index=False)
    print(json.dumps({"rows": len(scores)}))


def _stage_explain(rows: int) -> None:
    import numpy as np
    import pandas as pd
    import shap

    from models.registry import alias_version, client_for, load_bundle
    from models.treeshap import FastTreeShap

    client = client_for(os.environ["LEADSCORE_MLFLOW_TRACKING_URI"])
    model = load_bundle(client, MODEL, alias_version(client, MODEL, "champion"))
    frame = pd.read_parquet(os.environ["SCALE_FEATURES"]).iloc[:rows]
    X = model.encode(frame)
    booster = model.booster
    fast = FastTreeShap(booster)
    fast.shap_values(X[:256])  # compile outside the timing
    timings = {}
    for name, explain in {
        "shap.TreeExplainer": lambda: shap.TreeExplainer(booster).shap_values(X),
        "lightgbm pred_contrib": lambda: booster.predict(X, pred_contrib=True),
        "FastTreeShap": lambda: fast.shap_values(X),
    }.items():
        started = time.perf_counter()
        values = explain()
        timings[name] = {"seconds": time.perf_counter() - started}
        if name == "lightgbm pred_contrib":
            reference = values
        timings[name]["values"] = values
    out = {}
    for name, timing in timings.items():
        values = np.asarray(timing.pop("values"))
        if values.shape[1] == reference.shape[1] - 1:  # shap drops the bias column
            values = np.column_stack([values, reference[:, -1]])
        out[name] = {
            "rows_per_s": rows / timing["seconds"],
            "max_abs_diff_vs_pred_contrib": float(np.abs(values - reference).max()),
        }
    base = out["shap.TreeExplainer"]["rows_per_s"]
    for row in out.values():
        row["ratio_vs_shap"] = row["rows_per_s"] / base
    print(json.dumps(out))


def _measure(command: list[str], env: dict[str, str]) -> dict:
    """Run a stage; wall time and the peak RSS of its process tree."""
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parent = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"stage failed: {' '.join(command)}\n{stderr.decode()[-3000:]}")
    result = {
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(peak / 2**20),
    }
    lines = stdout.decode().strip().splitlines()
    with contextlib.suppress(ValueError):  # this script's stages end with one JSON line
        result.update(json.loads(lines[-1]) if lines else {})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--explain", type=int, default=3)
    parser.add_argument("--explain-rows", type=int, default=20_000)
    args = parser.parse_args()
    leadscore = str(Path(sys.executable).with_name("leadscore"))
    me = [sys.executable, str(Path(__file__).resolve())]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "LEADSCORE_MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
            "LEADSCORE_MLFLOW_ARTIFACT_ROOT": str(work / "artifacts"),
        }
        setup = {}
        setup["simulate_train_20k"] = _measure(
            [leadscore, "simulate", "--leads", "20000", "--out", str(work / "train")], env
        )
        setup["train"] = _measure(
            [leadscore, "train", "--dataset", "demo", "--data-dir", str(work / "train")], env
        )
        _measure([leadscore, "promote"], env)
        stages: dict[str, dict] = {}
        stages["simulate"] = _measure(
            [leadscore, "simulate", "--leads", str(args.leads), "--out", str(work / "crm")], env
        )
        for engine in ("local", "dask"):
            features = str(work / f"features-{engine}.parquet")
            stages[f"features ({engine})"] = _measure(
                [*me, "_features", str(work / "crm"), features, engine], env
            )
            stages[f"score + {args.explain} reasons ({engine})"] = _measure(
                [*me, "_score", features, str(work / f"scores-{engine}.parquet"), engine,
                 str(args.explain)], env,
            )  # fmt: skip
        import pandas as pd

        local = pd.read_parquet(work / "scores-local.parquet")
        dask = pd.read_parquet(work / "scores-dask.parquet")
        identical = bool(local.equals(dask))
        explain = _measure(
            [*me, "_explain", str(args.explain_rows)],
            {**env, "SCALE_FEATURES": str(work / "features-local.parquet")},
        )
    print(f"{'stage':<32} {'seconds':>8} {'peak RSS MB':>12}")
    for name, row in {**setup, **stages}.items():
        print(f"{name:<32} {row['seconds']:>8} {row['peak_rss_mb']:>12}")
    print(f"local and Dask scores identical: {identical}")
    print(f"explanations on {args.explain_rows:,} rows:")
    for name, row in explain.items():
        if isinstance(row, dict):
            print(f"  {name:<24} {row['rows_per_s']:>10,.0f} rows/s  x{row['ratio_vs_shap']:.1f}")
    from common.files import write_text_atomically

    write_text_atomically(
        json.dumps(
            {"leads": args.leads, "setup": setup, "stages": stages,
             "local_equals_dask": identical, "explain": explain},
            indent=2,
        ),
        RESULTS,
    )  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        sys.path.insert(0, str(ROOT))
        stage, *rest = sys.argv[1:]
        if stage == "_features":
            _stage_features(*rest)
        elif stage == "_score":
            _stage_score(rest[0], rest[1], rest[2], int(rest[3]))
        elif stage == "_explain":
            _stage_explain(int(rest[0]))
    else:
        main()
