"""The leakage audit's calibration: what it flags, and what it measures on the features it
keeps, on the shipped data sets, the simulator, and leaky variants of the simulator.

    python benchmarks/leakage_audit.py                         # 20k simulated leads
    python benchmarks/leakage_audit.py --leads 5000 --datasets ../shared/datasets

- X Education (static; shipped config): the audit must exclude ``Tags`` and nothing else, and
  the model without it reach 5-fold CV ROC-AUC >= 0.87.
- Olist (temporal; shipped config and training config): nothing flagged.
- The simulator (demo config): nothing flagged; the open-opportunity features measured as a
  pair (dropping both), and the share of positive snapshots whose lead had a deal open.
- Leaky simulator variants: ``engagement_grade`` = (the lead ever won) + Normal(0, sd) noise,
  for several sd: flagged or not, with the grade's own AUC and the probe's AUC with/without.

Writes benchmarks/results/leakage_audit.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "leakage_audit.json"
NOISE = (0.5, 1.0, 1.5)


def _project_imports() -> None:
    """Import the project, not sibling scripts (``benchmarks/training.py`` shadows
    ``training``)."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))


def audit_summary(report, top: int = 4) -> dict:
    """The flagged rows and the most-leaned-on kept features of a LeakageReport."""
    import math

    probed = [f for f in report.findings if not math.isnan(f.shap_share)]
    kept = sorted((f for f in probed if not f.excluded), key=lambda f: -f.shap_share)[:top]
    return {
        "flagged": report.records(),
        "probe_auc": report.probe_auc,
        "top_kept": [
            {
                "feature": f.feature,
                "shap_share": f.shap_share,
                "auc_with": f.auc_with,
                "auc_without": f.auc_without,
                "own_auc": f.auc,
            }
            for f in kept
        ],
    }


def static_or_shipped(name: str, data: Path, training_yaml: Path | None) -> dict:
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from training.pipeline import train_model
    from training.training_config import load_training_config
    from training.training_set import feature_params

    dataset = load_dataset(load_config(name), data)
    config = load_training_config(training_yaml)
    started = time.perf_counter()
    result = train_model(dataset, feature_params(dataset, 90, 30), config, 42)
    return {
        **audit_summary(result.leakage),
        "excluded": result.leakage.excluded,
        "holdout_roc_auc": result.metrics["roc_auc"],
        "cv_roc_auc": result.metrics.get("cv_roc_auc"),
        "warnings": result.warnings,
        "train_seconds": round(time.perf_counter() - started, 1),
    }


def simulator(leads: int, seed: int) -> dict:
    import numpy as np
    import pandas as pd

    from features.ingest.dataset_config import AttributeType, load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from training.leakage import audit_leakage
    from training.leakage_stats import folded_auc
    from training.pipeline import Seeds
    from training.training_config import TrainingConfig
    from training.training_set import build_training_set, feature_params

    config, seeds = TrainingConfig(), Seeds.from_seed(42)
    numeric = AttributeType.numeric
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        simulate_crm(SimulationConfig(n_leads=leads, seed=seed), folder)
        base = load_config("demo")
        leads_frame = pd.read_parquet(folder / "leads.parquet")
        outcomes = pd.read_parquet(folder / "outcomes.parquet")
        winners = set(outcomes.loc[outcomes["won"].fillna(False).astype(bool), "lead_id"])
        ever_won = leads_frame["lead_id"].isin(winners).to_numpy()
        for noise in (None, *NOISE):
            if noise is not None:
                rng = np.random.default_rng(np.random.SeedSequence([seed, int(noise * 100)]))
                grade = np.round(ever_won + rng.normal(0.0, noise, len(ever_won)), 2)
                leads_frame.assign(engagement_grade=grade).to_parquet(folder / "leads.parquet")
                source = base.leads.model_copy(
                    update={"attributes": {**base.leads.attributes, "engagement_grade": numeric}}
                )
                config_used = base.model_copy(update={"name": "demo-leaky", "leads": source})
            else:
                config_used = base
            dataset = load_dataset(config_used, folder)
            training_set = build_training_set(
                dataset, feature_params(dataset, 90, 30), config, seeds.split
            )
            train, valid = training_set.segment("train"), training_set.segment("valid")
            started = time.perf_counter()
            report = audit_leakage(train, training_set.spec, config, seeds.leakage, valid=valid)
            entry = {**audit_summary(report), "excluded": report.excluded,
                     "audit_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
            if noise is None:
                entry.update(_open_opportunity(train, valid, training_set.spec, config, seeds))
                out["honest"] = entry
            else:
                y = train["label"].to_numpy()
                entry["own_auc"] = folded_auc(y, train["engagement_grade"].to_numpy())
                out[f"leaky_sd_{noise}"] = entry
    return out


def _open_opportunity(train, valid, spec, config, seeds) -> dict:
    """The open-opportunity pair: the probe's validation AUC with and without both, and the
    share of positive training snapshots whose lead had a deal open at as_of."""
    from training.model_dependence import Prober

    pair = ["open_opportunity", "open_opportunity_days"]
    prober = Prober.sampled(
        train, valid, max_rows=config.leakage_probe_rows, seed=seeds.leakage,
        categorical=spec.categorical, params={**config.lgbm_params, "learning_rate": 0.1},
        num_threads=config.num_threads, num_boost_round=config.num_boost_round,
        early_stopping_rounds=30,
    )  # fmt: skip
    with_pair = prober.fit(spec.names)
    without = prober.fit([n for n in spec.names if n not in pair])
    positives = train[train["label"] == 1]
    return {
        "open_opportunity": {
            "auc_with": with_pair.auc,
            "auc_without_both": without.auc,
            "shap_share_of_both": sum(with_pair.shap_share[n] for n in pair),
            "positives_with_a_deal_open": float((positives["open_opportunity"] == 1).mean()),
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    _project_imports()
    results = {"leads": args.leads, "seed": args.seed}
    if (args.datasets / "xeducation_leads.csv").exists():
        results["xeducation"] = static_or_shipped("xeducation", args.datasets, None)
        olist_training = ROOT / "training" / "configs" / "olist.yaml"
        results["olist"] = static_or_shipped("olist", args.datasets, olist_training)
    results["simulator"] = simulator(args.leads, args.seed)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
