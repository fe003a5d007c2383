"""`bentoml build` from the repository produces a bento that serves LeadScoreService."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _bentoml(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "true"}
    return subprocess.run(
        [sys.executable, "-m", "bentoml", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bentoml_build_packages_the_service_and_its_code(tmp_path: Path) -> None:
    home = tmp_path / "bentoml-home"
    built = _bentoml(["build", ".", "--output", "tag"], home)
    assert built.returncode == 0, built.stdout + built.stderr
    tag = built.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    assert tag.startswith("leadscore:")

    info = _bentoml(["get", tag, "-o", "json"], home)
    assert info.returncode == 0, info.stderr
    bento = json.loads(info.stdout)
    assert bento["service"] == "serving.service:LeadScoreService"
    assert [s["name"] for s in bento["services"]] == ["leadscore"]

    src = next((home / "bentos" / "leadscore").glob("*/src"))
    packaged = {p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()}
    for needed in (
        "serving/service.py",
        "serving/static/sales.html",
        "serving/static/sales.js",
        "models/schema.py",
        "common/settings.py",
    ):
        assert needed in packaged, needed
    assert not any(p.startswith(("tests/", ".venv/")) or p.endswith(".db") for p in packaged)
    requirements = next((home / "bentos" / "leadscore").glob("*/env/python/requirements.txt"))
    assert "bentoml==1.4.39" in requirements.read_text()
