"""Another revision of the project checked out into a temporary ``git worktree``, so
``benchmarks/feature_engines.py --compare-rev REV`` can run that revision's batch engine side by side
with this one (same generated data, same seeds, alternated fresh processes), and the table
that prints both."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENGINE_ROOT_OPTION = "--engine-root"


def engine_root(default: Path) -> Path:
    """The tree whose ``features`` package a worker imports: ``--engine-root PATH`` on the
    command line (read before anything imports ``features``), else ``default``."""
    argv = sys.argv
    if ENGINE_ROOT_OPTION in argv[:-1]:
        return Path(argv[argv.index(ENGINE_ROOT_OPTION) + 1]).resolve()
    return default


@contextmanager
def revision_tree(root: Path, revision: str) -> Iterator[tuple[Path, str]]:
    """``(path, commit)``: ``revision`` checked out (detached) in a temporary worktree of the
    repository at ``root``, removed again on exit."""
    folder = Path(tempfile.mkdtemp(prefix="leadscore-revision-"))
    tree = folder / "tree"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short", f"{revision}^{{commit}}")
    git("worktree", "add", "--detach", str(tree), commit)
    try:
        yield tree, commit
    finally:
        subprocess.run(
            ["git", "-C", str(root), "worktree", "remove", "--force", str(tree)],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def print_side_by_side(results: dict[str, object]) -> None:
    """Both engines' end-to-end runs (median run; the slowest-fastest events/s and peak RSS
    over the inputs of every run) and their ratio to the pandas peer."""
    compare = results["compare"]
    pandas_seconds = results["peers"]["pandas_seconds"]
    engines = (
        ("this tree", results["throughput"], results["peers"]["batch_seconds"]),
        (compare["revision"], compare["throughput"], compare["peer_batch"]["batch_seconds"]),
    )
    print(f"{'engine':<12}{'leads':>10}{'events in':>11}{'events/s':>12}{'slowest-fastest':>18}"
          f"{'CPU s':>9}{'peak RSS MB':>13}{'over inputs':>13}")  # fmt: skip
    for name, runs, _ in engines:
        for row in runs:
            rates = row["events_per_s_all"]
            print(
                f"{name:<12}{row['leads']:>10,}{row['event_order'] + ' order':>11}"
                f"{row['events_per_s']:>12,.0f}"
                f"{f'{min(rates) / 1e6:.2f}-{max(rates) / 1e6:.2f}M':>18}"
                f"{row['cpu_seconds']:>9.1f}{row['peak_rss_mb']:>13,.0f}"
                f"{row['peak_over_inputs_mb']:>13,.0f}"
            )
    for name, _, batch_seconds in engines:
        print(
            f"{name}: x{pandas_seconds / batch_seconds:.1f} the pandas peer "
            f"({batch_seconds:.3f}s vs {pandas_seconds:.2f}s on {results['peers']['leads']:,} leads)"
        )
