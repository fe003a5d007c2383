"""Where the real lead data sets live, for the realdata tests.

They are read in place, never copied into the repository. Looked up, in order: the
``LEADSCORE_DATASETS_DIR`` environment variable; ``../shared/datasets`` next to this checkout;
the same next to the repository this checkout was cloned from (CI tests a fresh clone in a
temporary folder, whose ``origin`` is the working repository).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _origin_checkout() -> Path | None:
    try:
        url = subprocess.run(
            ["git", "-C", str(REPO), "remote", "get-url", "origin"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(url.removeprefix("file://"))
    return path if path.is_absolute() and path.exists() else None


REQUIRE_ENV = "LEADSCORE_REQUIRE_DATASETS"


def candidate_dirs() -> list[Path]:
    """Where the data sets are looked for, in order."""
    candidates = []
    if os.environ.get("LEADSCORE_DATASETS_DIR"):
        candidates.append(Path(os.environ["LEADSCORE_DATASETS_DIR"]))
    candidates.append(REPO.parent / "shared" / "datasets")
    origin = _origin_checkout()
    if origin is not None:
        candidates.append(origin.parent / "shared" / "datasets")
    return list(dict.fromkeys(candidates))  # the same folder once


def find_datasets_dir() -> Path | None:
    """The folder holding the shared data sets, or None when there is none."""
    return next((path for path in candidate_dirs() if (path / "README.md").exists()), None)


def absent_reason() -> str:
    """Why the real-data tests cannot run here, in one line."""
    looked = ", ".join(str(path) for path in candidate_dirs())
    return (
        f"the shared lead data sets are absent (looked in {looked}); "
        "set LEADSCORE_DATASETS_DIR to the folder holding them"
    )
