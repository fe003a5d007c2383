"""Feature engines: batch throughput, its ratio to plain pandas and DuckDB, online latency, memory.

Measures, in one run on the same generated CRM:
- batch engine end to end (snapshots + labels + every feature) in events/s, for two input
  sizes with the events lead by lead, and for the large one with the same events in time
  order, each in a fresh process so its peak RSS is its own;
- with ``--compare-rev REV``, the same end-to-end runs of revision REV's engine (checked out
  into a temporary git worktree), alternated with this tree's in fresh processes on the same
  data, and REV's batch time on the peers' data;
- the same spec written as a straightforward pandas merge + group-by (checked equal to the
  batch engine on every row) and the windowed counts alone as a DuckDB range join, both on a
  smaller slice, as the peers the batch engine is compared with;
- the online engine's latency per lead with 200 events (p50/p99);
- the whole ``leadscore features build`` path on a simulated CRM's Parquet files (load and
  validate, engine, write Parquet) with pyarrow's default allocator and with jemalloc,
  alternated in fresh processes.

The end-to-end throughput runs ``--repeats`` times per input (fresh processes, alternating
the inputs): the machine is shared and one run can be slowed by another tenant, so the median
run is reported with the slowest and fastest next to it.

Usage: ``python benchmarks/feature_engines.py [--leads 1000000] [--repeats 3] [--compare-rev REV]
[--quick]``. Writes ``benchmarks/results/features.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from _engine_revision import ENGINE_ROOT_OPTION, engine_root, print_side_by_side, revision_tree

ROOT = Path(__file__).resolve().parents[1]
# A worker of ``--compare-rev`` imports the other revision's ``features``; everything else
# (the generated CRM, the peers, these workers) is this tree's.
sys.path.insert(0, str(engine_root(ROOT)))

from _cli_path import files_runs, print_files_runs  # noqa: E402
from _feature_workers import WORKERS, online_worker  # noqa: E402
from _generated_crm import EVENT_ORDERS  # noqa: E402

from common.files import write_text_atomically  # noqa: E402

# The Arrow allocator of each compared revision's CLI (``ARROW_DEFAULT_MEMORY_POOL`` of its
# workers): revisions before the batch engine's simplification set jemalloc themselves.
REVISION_POOL = "jemalloc"

RESULTS = ROOT / "benchmarks" / "results" / "features.json"


def run_worker(
    kind: str, n_leads: int, seed: int, *options: str, revision: Path | None = None,
    arrow_pool: str | None = None,
) -> dict[str, float]:  # fmt: skip
    """Run a worker in a fresh Python process so its peak RSS is its own; with ``revision``,
    on that tree's engine; with ``arrow_pool``, on that Arrow allocator."""
    command = [sys.executable, __file__, "--worker", kind, "--leads", str(n_leads)]
    command += ["--seed", str(seed), *options]
    if revision is not None:
        command += [ENGINE_ROOT_OPTION, str(revision)]
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": arrow_pool} if arrow_pool else None
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
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
    parser.add_argument("--compare-rev", help="also run this git revision's batch engine")
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--event-order", choices=EVENT_ORDERS, default="lead", help=argparse.SUPPRESS
    )
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument(ENGINE_ROOT_OPTION, help=argparse.SUPPRESS)
    parser.add_argument("--files-leads", type=int, default=200_000, help="size for the CLI path")
    args = parser.parse_args()
    if args.worker:
        extra = {
            "throughput": {"event_order": args.event_order},
            "files": {"data_dir": args.data_dir},
        }.get(args.worker, {})
        print(json.dumps(WORKERS[args.worker](args.leads, args.seed, **extra)))
        return 0
    with contextlib.ExitStack() as stack:
        revision = None
        if args.compare_rev:
            revision = stack.enter_context(revision_tree(ROOT, args.compare_rev))
        results = run_all(args, revision)
    write_results(results)
    print_table(results)
    return 0


def run_all(args: argparse.Namespace, revision: tuple[Path, str] | None) -> dict[str, object]:
    """Every measurement of the module docstring; ``revision`` is ``(tree, commit)`` of the
    engine to compare with."""
    large = 50_000 if args.quick else args.leads
    peer = 5_000 if args.quick else args.peer_leads
    inputs = [(large // 5, "lead"), (large, "lead"), (large, "time")]
    results: dict[str, object] = {"argv": sys.argv[1:], "cpu_count": os.cpu_count()}
    engines = {"this": {}} if revision is None else {"this": {}, "revision": {}}
    for _ in range(max(args.repeats, 1)):
        for n, order in inputs:
            for engine, runs in engines.items():
                options = ("--event-order", order)
                on_revision = {"revision": revision[0], "arrow_pool": REVISION_POOL}
                extra = on_revision if engine == "revision" else {}
                runs.setdefault((n, order), []).append(
                    run_worker("throughput", n, args.seed, *options, **extra)
                )
    results["throughput"] = [median_run(engines["this"][key]) for key in inputs]
    results["peers"] = run_worker("peer", peer, args.seed)
    if revision is not None:
        results["compare"] = {
            "revision": revision[1],
            "arrow_pool": REVISION_POOL,
            "throughput": [median_run(engines["revision"][key]) for key in inputs],
            "peer_batch": run_worker(
                "peer_batch", peer, args.seed, revision=revision[0], arrow_pool=REVISION_POOL
            ),
        }
    results["large_accounts"] = run_worker("accounts", peer, args.seed)
    results["online"] = online_worker(200, args.seed, 500 if args.quick else 5000)
    files_leads = 10_000 if args.quick else args.files_leads

    def run_files(data_dir: str, pool: str | None) -> dict[str, float]:
        return run_worker("files", files_leads, args.seed, "--data-dir", data_dir, arrow_pool=pool)

    results["cli_path"] = files_runs(files_leads, args.seed, run_files)
    return results


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
    if "compare" in results:
        print_side_by_side(results)
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
