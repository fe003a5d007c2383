"""Training benchmark on simulated CRMs: wall time per phase, peak RSS, and model quality
against the rule-based points baseline, logistic regression and the oracle.

    python benchmarks/training.py                      # ~1M snapshot rows (62k leads)
    python benchmarks/training.py --leads 100000       # the issue's 100k-lead quality target
    python benchmarks/training.py --leads 5000 --quick # smoke run

Each size runs in a fresh child process (so its peak RSS is its own). Phases: features
(snapshots + batch engine), fit (audit + LightGBM + calibration + packaging), batch scoring
with reasons. The peer measured in the same run is the feature build on the same data
(ratio fit/features), plus the baselines' AUC on the same out-of-time holdout.
Writes benchmarks/results/training.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "training.json"


def _project_imports() -> None:
    """Import the project, not the sibling scripts: this file is ``training.py`` and
    ``benchmarks/feature_engines.py`` exists, so the script folder must not shadow the packages."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))


def child(leads: int, seed: int, quick: bool, tune: int = 0, tune_minutes: float = 5.0) -> dict:
    """Simulate, build features, train, score; measured inside one process."""
    _project_imports()
    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from evaluation.baselines import DefaultLightGBM, LogisticBaseline, RuleBasedPoints
    from evaluation.metrics import bootstrap_auc_difference
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.oracle import oracle_probability
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from training import pipeline
    from training.training_config import TrainingConfig
    from training.training_set import build_training_set, feature_params

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        simulate_crm(SimulationConfig(n_leads=leads, seed=seed), Path(tmp))
        simulate_s = time.perf_counter() - started
        dataset = load_dataset(load_config("demo"), Path(tmp))
        truth = pd.read_parquet(Path(tmp) / "truth.parquet")
    params = feature_params(dataset, 90, 30)
    config = TrainingConfig(num_boost_round=300 if quick else 2000)
    rss_before = _peak_rss_mb()
    t0 = time.perf_counter()
    training_set = build_training_set(dataset, params, config, seed)
    features_s = time.perf_counter() - t0
    # Reuse the built table: train_model would rebuild it, so time the rest via the pipeline
    # with build_training_set patched to return this one.
    pipeline.build_training_set = lambda *args, **kwargs: training_set
    t1 = time.perf_counter()
    result = pipeline.train_model(
        dataset, params, config, seed, tune_trials=tune, tune_minutes=tune_minutes
    )
    fit_s = time.perf_counter() - t1
    holdout = result.holdout
    t2 = time.perf_counter()
    scored = result.model.score_features(holdout, explain_k=3)
    score_s = time.perf_counter() - t2
    y = holdout["label"].to_numpy()
    # The baselines learn from the rows the booster learnt from (train, or train + valid).
    segments = result.model.metadata.get("fit_segments", ["train"])
    train = pd.concat([training_set.segment(name) for name in segments], ignore_index=True)
    oracle = oracle_probability(truth, holdout["lead_id"], holdout["as_of"], 90)
    known = ~np.isnan(oracle)
    points = RuleBasedPoints().fit(train, train["label"]).predict_proba(holdout)[:, 1]
    columns = result.model.features
    logistic = LogisticBaseline().fit(train[columns], train["label"])
    lr = logistic.predict_proba(holdout[columns])[:, 1]
    default = DefaultLightGBM().fit(train[columns], train["label"])
    lgbm_default = default.predict_proba(holdout[columns])[:, 1]
    p = scored["probability"].to_numpy()
    gain_lr = bootstrap_auc_difference(y, p, lr, seed=seed)
    gain_default = bootstrap_auc_difference(y, p, lgbm_default, seed=seed)
    return {
        "leads": leads,
        "snapshot_rows": len(training_set.table),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "holdout_positives": int(y.sum()),
        "features": len(result.model.features),
        "best_iteration": result.fitted.best_iteration,
        "simulate_seconds": round(simulate_s, 2),
        "features_seconds": round(features_s, 2),
        "fit_seconds": round(fit_s, 2),
        "score_holdout_seconds": round(score_s, 2),
        "score_rows_per_s": round(len(holdout) / score_s),
        "fit_over_features": round(fit_s / features_s, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_before_features_mb": round(rss_before, 1),
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "roc_auc_oracle": round(float(roc_auc_score(y[known], oracle[known])), 4),
        "roc_auc_points": round(float(roc_auc_score(y, points)), 4),
        "roc_auc_logistic": round(float(roc_auc_score(y, lr)), 4),
        "roc_auc_lgbm_default": round(float(roc_auc_score(y, lgbm_default)), 4),
        "gain_over_logistic": [round(float(v), 4) for v in gain_lr],
        "gain_over_lgbm_default": [round(float(v), 4) for v in gain_default],
        "fit_segments": segments,
        "recipe": result.model.metadata.get("recipe", {}),
        "excluded_time_like": result.model.metadata.get("excluded_time_like", []),
        "oracle_rows": int(known.sum()),
        "excluded_features": result.leakage.excluded,
        "tune_trials": tune,
        "tuning": {k: v for k, v in result.tuning.items() if k != "trials"},
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[62_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="cap boosting rounds at 300")
    parser.add_argument("--tune", type=int, default=0, help="Optuna trials (valid slice)")
    parser.add_argument("--tune-minutes", type=float, default=5.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = child(args.leads[0], args.seed, args.quick, args.tune, args.tune_minutes)
        print(json.dumps(run))
        return
    runs = []
    for leads in args.leads:
        command = [sys.executable, __file__, "--child", "--leads", str(leads)]
        command += ["--seed", str(args.seed)] + (["--quick"] if args.quick else [])
        command += ["--tune", str(args.tune), "--tune-minutes", str(args.tune_minutes)]
        out = subprocess.run(
            command, capture_output=True, text=True, check=True, env={**os.environ}
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    keys = [
        "leads", "snapshot_rows", "features_seconds", "fit_seconds", "fit_over_features",
        "score_rows_per_s", "peak_rss_mb", "roc_auc", "roc_auc_oracle", "roc_auc_points",
        "roc_auc_logistic", "roc_auc_lgbm_default", "gain_over_logistic",
    ]  # fmt: skip
    print(" | ".join(f"{k:>18}" for k in keys))
    for run in runs:
        print(" | ".join(f"{run[k]!s:>18}" for k in keys))
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}

    def key(run: dict) -> str:
        return f"{run['leads']}-tune{run.get('tune_trials', 0)}"

    runs_by_size = {key(r): r for r in previous.get("runs", [])}
    runs_by_size.update({key(r): r for r in runs})
    document = {
        "cpu_count": os.cpu_count(),
        "argv": sys.argv[1:],
        "runs": sorted(runs_by_size.values(), key=lambda r: (r["leads"], r.get("tune_trials", 0))),
    }
    from common.files import write_text_atomically

    write_text_atomically(json.dumps(document, indent=1), RESULTS)


if __name__ == "__main__":
    main()
