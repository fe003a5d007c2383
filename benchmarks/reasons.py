"""Grouped reasons on simulated leads: do they add up, and what do they cost in batch scoring?

Trains a model on one simulated CRM (``--train-leads``), then scores ``--leads`` leads of another
simulation of the same world (another seed) as of the end of their history and measures:

1. the max absolute error of ``Σ grouped impacts + base value`` against the booster's raw
   log-odds (``predict(raw_score=True)``), and of ``Σ points`` against ``100 · (probability −
   base probability)``, over every lead and every reason group;
2. batch scoring throughput with 3 worded reasons per lead against the same scoring without
   reasons (the peer, measured in the same run), median of ``--repeats``.

Usage: ``python benchmarks/reasons.py [--train-leads 5000] [--leads 10000] [--seed 42]``.
Writes ``benchmarks/results/reasons.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "reasons.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-leads", type=int, default=5000)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    # The project's packages, wherever this script is started from.
    sys.path.insert(0, str(ROOT))
    from features.batch.batch_engine import compute_features
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from models.batch_scoring import scoring_snapshots
    from models.explain import contributions
    from training.pipeline import train_model
    from training.training_config import TrainingConfig
    from training.training_set import feature_params

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        simulate_crm(SimulationConfig(n_leads=args.train_leads, seed=args.seed), folder / "train")
        train = load_dataset(load_config("demo"), folder / "train")
        result = train_model(train, feature_params(train, 90, 30), TrainingConfig(), seed=args.seed)
        model = result.model
        simulate_crm(SimulationConfig(n_leads=args.leads, seed=args.seed + 1), folder / "score")
        scored = load_dataset(load_config("demo"), folder / "score")
        frame = compute_features(
            model.spec, scored.leads, scored.events, scored.outcomes, scoring_snapshots(scored),
            open_deals=scored.open_deals,
        )  # fmt: skip

    X = model.encode(frame)
    out = model.score_matrix(X, 3, model.grouping.missing_in_frame(frame))
    raw = model.booster.predict(X, raw_score=True)
    bias = contributions(model.booster, X[:1])[0, -1]
    log_odds_error = np.abs(out["impacts"].sum(axis=1) + bias - raw).max()
    change = 100.0 * (out["probability"] - out["base_probability"])
    points_error = np.abs(out["points"].sum(axis=1) - change).max()

    def seconds(explain_k: int) -> float:
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            model.score_features(frame, explain_k=explain_k)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    model.score_features(frame.head(2500), explain_k=3)  # compile and build the explainer
    with_reasons, without = seconds(3), seconds(0)
    report = {
        "train_leads": args.train_leads,
        "leads": len(frame),
        "reason_groups": len(model.grouping.keys),
        "model_features": len(model.features),
        "max_abs_error_log_odds": float(log_odds_error),
        "max_abs_error_points": float(points_error),
        "probability_change_points": {"min": float(change.min()), "max": float(change.max())},
        "score_features_seconds": {"3_reasons": with_reasons, "no_reasons": without},
        "reasons_cost_ratio": with_reasons / without,
        "rows_per_s_with_reasons": len(frame) / with_reasons,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
