"""`leadscore serve`: the plan it hands to bentoml and the refusals before starting."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from common.settings import Settings
from leadscore.cli import app
from leadscore.commands.serve import SERVICE, generate_api_key, plan_serve


def test_plan_passes_settings_by_env_and_builds_a_working_curl(tmp_path: Path) -> None:
    settings = Settings(
        mlflow_tracking_uri="sqlite:///store.db",
        data_dir=tmp_path / "data",
        seed=11,
    )
    keys = ["ingest-key-000000:ingest", "read-key-11111111:read", "admin-key-22222222"]
    plan = plan_serve(settings, "0.0.0.0", 3111, keys, "leadscore-demo")
    assert plan.command[-6:] == ["serve", SERVICE, "--host", "0.0.0.0", "--port", "3111"]
    # Keys reach the service with their scopes; the example request uses one that may read.
    assert plan.env["LEADSCORE_API_KEYS"] == ",".join(keys)
    assert plan.env["LEADSCORE_MLFLOW_TRACKING_URI"] == "sqlite:///store.db"
    assert plan.env["LEADSCORE_DATA_DIR"] == str((tmp_path / "data").resolve())
    store_file = (tmp_path / "data" / "leadscore-store.sqlite").resolve()
    assert plan.env["LEADSCORE_STORE_URL"] == f"sqlite:///{store_file}"
    assert plan.env["LEADSCORE_SEED"] == "11"
    assert plan.env["LEADSCORE_MODEL_NAME"] == "leadscore-demo"
    assert plan.base_url == "http://localhost:3111"
    words = shlex.split(plan.curl)
    assert words[:5] == ["curl", "-s", "-X", "POST", "http://localhost:3111/score"]
    # ... shown masked: terminal output ends up in CI logs and screen shares.
    assert "Authorization: Bearer re...1111" in words
    assert not any(key.split(":")[0] in plan.curl for key in keys)
    # The example lead is dated from today: its demo request was yesterday, not months ago.
    lead = json.loads(words[words.index("-d") + 1])["leads"][0]
    demo = next(e for e in lead["events"] if e["event_type"] == "demo_request")
    age = datetime.now(UTC) - datetime.fromisoformat(demo["occurred_at"])
    assert timedelta(hours=23) < age <= timedelta(hours=25)


def test_generated_keys_are_long_and_distinct() -> None:
    keys = {generate_api_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(key) >= 32 for key in keys)


def test_refuses_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEADSCORE_API_KEYS", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env file with keys here
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "LEADSCORE_API_KEYS" in result.output


def test_refuses_without_a_champion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEADSCORE_API_KEYS", "k")
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(app, ["--tracking-uri", uri, "serve"])
    assert result.exit_code == 1
    assert "no model to serve: no MLflow store exists" in result.output
    named = CliRunner().invoke(app, ["--tracking-uri", uri, "serve", "--dataset", "olist"])
    assert named.exit_code == 1
    assert "no model registered as models:/leadscore-olist@champion" in named.output
