"""The service's BentoML defaults, as a worker resolves them, and an operator's override."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

# Resolving BentoML's configuration mutates process-wide state: done in a fresh interpreter.
PROBE = """
from bentoml._internal.configuration.containers import BentoMLContainer
from serving.service import LeadScoreService
LeadScoreService.inject_config()
excluded = BentoMLContainer.tracing_excluded_urls.get()
print(excluded.url_disabled("http://127.0.0.1:3000/score"),
      excluded.url_disabled("http://127.0.0.1:3000/model"),
      BentoMLContainer.api_server_config.metrics.enabled.get())
"""


def _probe(tmp_path: Path, bentoml_config: str | None = None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADSCORE_", "BENTOML_"))}
    env |= {"LEADSCORE_API_KEYS": "probe-key", "BENTOML_HOME": str(tmp_path / "bentoml")}
    if bentoml_config is not None:
        path = tmp_path / "bentoml.yaml"
        path.write_text(bentoml_config)
        env["BENTOML_CONFIG"] = str(path)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_score_requests_are_not_traced_but_metrics_stay_on(tmp_path: Path) -> None:
    # Tracing every request costs ~25 % of the throughput with no exporter to send spans to.
    assert _probe(tmp_path) == ["True", "False", "True"]


def test_an_operator_can_trace_score_requests_again(tmp_path: Path) -> None:
    config = "services:\n  leadscore:\n    tracing:\n      excluded_urls: []\n"
    assert _probe(tmp_path, config) == ["False", "False", "True"]
