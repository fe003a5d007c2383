"""Run every benchmark script in this folder, one after another (they compete for the same two
cores otherwise), and print where each wrote its results."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    # Modules named _*.py are helpers of a benchmark, not benchmarks.
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )
    failures = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False)
        print(f"== {script.name}: exit {result.returncode} in {time.perf_counter() - started:.0f}s")
        if result.returncode:
            failures.append(script.name)
    if failures:
        print(f"failed: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
