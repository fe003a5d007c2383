"""Simulator time and peak memory: `leadscore simulate` for 100k and 1M leads, each in its own
process measured by `/usr/bin/time -v` (falls back to the children's rusage without it), and
how time grows with size: each size's seconds per lead over the smallest size's (1.00 is
linear; the simulator is meant to be linear in leads).

    python benchmarks/simulate.py [--sizes 100000 1000000]

Writes benchmarks/results/simulate.json.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "simulate.json"


def run(leads: int, seed: int = 42) -> dict:
    """One simulation in a fresh process; wall time, peak RSS and output sizes."""
    leadscore = Path(sys.executable).with_name("leadscore")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sim"
        command = [str(leadscore), "simulate", "--leads", str(leads), "--seed", str(seed)]
        command += ["--out", str(out)]
        timer = shutil.which("time") or (
            "/usr/bin/time" if Path("/usr/bin/time").exists() else None
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        if timer:
            proc = subprocess.run([timer, "-v", *command], capture_output=True, text=True)
        else:
            proc = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if proc.returncode:
            raise SystemExit(f"simulate failed: {proc.stderr[-2000:]}")
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        peak_kb = (
            int(match.group(1))
            if match
            else max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
        )
        summary = json.loads(proc.stdout)
        size = sum(p.stat().st_size for p in out.glob("*.parquet"))
    return {
        "leads": leads,
        "events": summary["events"],
        "outcomes": summary["outcomes"],
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "events_per_s": round(summary["events"] / seconds),
        "parquet_mb": round(size / 2**20, 1),
        "conversion_rate": summary["conversion_rate"],
        "mean_touches_before_purchase": summary["mean_touches_before_purchase"],
        "measured_by": "/usr/bin/time -v" if match else "rusage",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    rows = [run(n) for n in sorted(args.sizes)]
    per_lead = rows[0]["seconds"] / rows[0]["leads"]
    for row in rows:
        row["time_per_lead_vs_smallest"] = round(row["seconds"] / row["leads"] / per_lead, 2)
    print(
        f"{'leads':>10} {'events':>12} {'seconds':>8} {'peak MB':>8} {'events/s':>10}"
        f" {'s/lead vs smallest':>19}"
    )
    for row in rows:
        print(
            f"{row['leads']:>10,} {row['events']:>12,} {row['seconds']:>8} "
            f"{row['peak_rss_mb']:>8} {row['events_per_s']:>10,}"
            f" {row['time_per_lead_vs_smallest']:>19.2f}"
        )
    from common.files import write_text_atomically

    write_text_atomically(json.dumps({"runs": rows}, indent=2), RESULTS)


if __name__ == "__main__":
    main()
