"""Marketing report benchmark: `leadscore report marketing` on simulated CRMs of 100k and 1M
leads, and how well it finds the simulator's true campaign effects.

    python benchmarks/marketing.py                              # 100k and 1M leads
    python benchmarks/marketing.py --leads 100000 --model-leads 100000

Each size runs in a fresh child process (its peak RSS is its own): simulate (not timed), then
the command's three steps, timed: load and validate the export, build every table (sales-ready
episodes from intent events, credit, costs, touches, cohorts), write the page and CSVs. Peers
measured in the same run: the load of the same files (what every command pays), and (up to
200k leads) a plain pandas version of the central step (each touch matched to the next sales-ready moment of its
lead with ``merge_asof``, then first/last/position weights by group ranks). Agreement with
the truth: Spearman between each attribution model's sales-ready leads per touch and the
campaigns' true effects. With ``--model-leads N``: a model is trained on a separate 20k-lead
CRM and defines sales-ready on the N-lead CRM (scored every 7 and 30 days), timed and
compared the same way. Writes benchmarks/results/marketing.json.
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
RESULTS = ROOT / "benchmarks" / "results" / "marketing.json"


def _project_imports() -> None:
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(ROOT))


def _agreement(report, summary) -> dict[str, float]:
    from scipy.stats import spearmanr

    truth = {row["campaign"]: row["market_entry_per_touch"] for row in summary.campaigns}
    table = report.tables["campaign_sales_ready"].set_index("campaign").loc[list(truth)]
    return {
        model: round(float(spearmanr(
            table[f"sales_ready_{model}"] / table["touches"], list(truth.values())
        ).statistic), 3)
        for model in ("first_touch", "last_touch", "position_based")
    }  # fmt: skip


def _pandas_peer(dataset, lookback_days: float) -> float:
    """Seconds for pandas to credit the touches to their next sales-ready moment (intent
    events only, no quiet or deal rules: less work than the report's step)."""
    import numpy as np
    import pandas as pd

    from evaluation.marketing.crm_arrays import NOT_TOUCH_TYPES
    from features.ingest import contracts as c

    started = time.perf_counter()
    events = dataset.events
    intent = events.loc[events[c.EVENT_TYPE].isin(c.INTENT_EVENT_TYPES), [c.LEAD_ID, c.OCCURRED_AT]]
    moments = intent.rename(columns={c.OCCURRED_AT: "moment"}).sort_values("moment")
    touches = events.loc[
        ~events[c.EVENT_TYPE].isin(NOT_TOUCH_TYPES), [c.LEAD_ID, c.OCCURRED_AT, c.CAMPAIGN]
    ]
    touches = touches.sort_values(c.OCCURRED_AT)
    joined = pd.merge_asof(
        touches, moments, left_on=c.OCCURRED_AT, right_on="moment", by=c.LEAD_ID,
        direction="forward", allow_exact_matches=False,
    )  # fmt: skip
    window = pd.Timedelta(days=lookback_days)
    joined = joined[joined["moment"].notna() & (joined[c.OCCURRED_AT] >= joined["moment"] - window)]
    group = joined.groupby([c.LEAD_ID, "moment"], sort=False)[c.OCCURRED_AT]
    rank = group.rank(method="first").to_numpy()
    size = group.transform("size").to_numpy()
    weight = np.where(size == 1, 1.0, np.where(size == 2, 0.5, np.where(
        (rank == 1) | (rank == size), 0.4, 0.2 / np.maximum(size - 2, 1))))  # fmt: skip
    pd.Series(weight).groupby(joined[c.CAMPAIGN].to_numpy()).sum()
    return time.perf_counter() - started


def child(leads: int, seed: int, model_leads: int) -> dict:
    """Simulate, then time the command's steps in this process."""
    _project_imports()
    from evaluation.marketing.marketing_report import (
        MarketingOptions,
        build_marketing_report,
        write_marketing_report,
    )
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm

    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "crm", Path(tmp) / "report"
        summary = simulate_crm(SimulationConfig(n_leads=leads, seed=seed), data)
        c0, t0 = time.process_time(), time.perf_counter()
        dataset = load_dataset(load_config("demo"), data)
        c1, t1 = time.process_time(), time.perf_counter()
        report = build_marketing_report(dataset)
        c2, t2 = time.process_time(), time.perf_counter()
        write_marketing_report(report, out)
        c3, t3 = time.process_time(), time.perf_counter()
        peak_report = _peak_rss_mb()
        # The pandas peer needs several copies of the events: measured up to 200k leads.
        peer = _pandas_peer(dataset, MarketingOptions().lookback_days) if leads <= 200_000 else None
        load_avg = os.getloadavg()[0]
        run = {
            "leads": leads,
            "events": summary.events,
            "touches": report.facts["touches"],
            "sales_ready_moments": report.facts["sales_ready_moments"],
            "load_seconds": round(t1 - t0, 2),
            "build_seconds": round(t2 - t1, 2),
            "write_seconds": round(t3 - t2, 2),
            "command_seconds": round(t3 - t0, 2),
            # CPU seconds of the process (all threads): steadier than the wall time on a
            # shared machine, where other jobs take turns on the two cores.
            "load_cpu_seconds": round(c1 - c0, 2),
            "build_cpu_seconds": round(c2 - c1, 2),
            "write_cpu_seconds": round(c3 - c2, 2),
            "build_over_load": round((t2 - t1) / (t1 - t0), 2),
            "build_over_load_cpu": round((c2 - c1) / (c1 - c0), 2),
            "pandas_peer_seconds": None if peer is None else round(peer, 2),
            "pandas_peer_over_build": None if peer is None else round(peer / (t2 - t1), 2),
            "peak_rss_mb": round(peak_report, 1),
            "load_average_after": round(load_avg, 1),
            "spearman_intent": _agreement(report, summary),
            "median_touches_to_sales_ready": report.facts["median_touches_to_sales_ready"],
        }
        if model_leads == leads:
            run["model"] = _model_runs(dataset, summary, seed, Path(tmp) / "train")
    return run


def _model_runs(dataset, summary, seed: int, folder: Path) -> dict:
    """Train on a separate 20k-lead CRM; sales-ready by its threshold on this one."""
    from evaluation.marketing.marketing_report import MarketingOptions, build_marketing_report
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from training.pipeline import train_model
    from training.training_config import TrainingConfig
    from training.training_set import feature_params

    simulate_crm(SimulationConfig(n_leads=20_000, seed=seed + 1), folder)
    training = load_dataset(load_config("demo"), folder)
    model = train_model(training, feature_params(training, 90, 30), TrainingConfig(), seed).model
    out = {}
    for every_days in (7, 30):
        started, cpu = time.perf_counter(), time.process_time()
        report = build_marketing_report(
            dataset, MarketingOptions(every_days=every_days), model=model, model_version="bench"
        )
        out[f"every_{every_days}_days"] = {
            "build_seconds": round(time.perf_counter() - started, 2),
            "build_cpu_seconds": round(time.process_time() - cpu, 2),
            "sales_ready_moments": report.facts["sales_ready_moments"],
            "spearman": _agreement(report, summary),
        }
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model-leads", type=int, default=0,
                        help="also define sales-ready by a model on this size")  # fmt: skip
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.leads[0], args.seed, args.model_leads)))
        return
    runs = []
    for leads in args.leads:
        command = [sys.executable, __file__, "--child", "--leads", str(leads), "--seed",
                   str(args.seed), "--model-leads", str(args.model_leads)]  # fmt: skip
        out = subprocess.run(
            command, capture_output=True, text=True, check=True, env={**os.environ}
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(runs[-1], indent=1), flush=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    by_size = {run["leads"]: run for run in previous.get("runs", [])}
    by_size.update({run["leads"]: run for run in runs})
    document = {
        "cpu_count": os.cpu_count(),
        "argv": sys.argv[1:],
        "runs": [by_size[k] for k in sorted(by_size)],
    }
    _project_imports()
    from common.files import write_text_atomically

    write_text_atomically(json.dumps(document, indent=1), RESULTS)


if __name__ == "__main__":
    main()
