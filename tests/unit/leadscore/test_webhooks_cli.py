"""`leadscore webhooks add|list|remove|replay` on the lead store the settings name."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadscore.cli import app


def test_add_list_replay_remove(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LEADSCORE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LEADSCORE_STORE_URL", raising=False)
    runner = CliRunner()
    url = "https://user:hunter2@crm.example/hook"
    added = runner.invoke(
        app, ["webhooks", "add", url, "-e", "lead.sales_ready", "--min-tier", "B"]
    )
    assert added.exit_code == 0, added.output
    made = json.loads(added.stdout[: added.stdout.rindex("}") + 1])
    assert made["secret"].startswith("whsec_") and made["min_tier"] == "B"
    assert made["url"] == "https://***@crm.example/hook"
    listed = runner.invoke(app, ["webhooks", "list"])
    assert made["id"] in listed.stdout and "hunter2" not in listed.stdout
    assert "whsec_" not in listed.stdout
    refused = runner.invoke(app, ["webhooks", "add", "ftp://x.example/", "-e", "lead.sales_ready"])
    assert refused.exit_code == 2 and "only http and https" in refused.output
    unknown = runner.invoke(app, ["webhooks", "add", "https://x.example/", "-e", "lead.bought"])
    assert unknown.exit_code == 2 and "unknown event type" in unknown.output
    replayed = runner.invoke(app, ["webhooks", "replay", made["id"]])
    assert replayed.exit_code == 0 and "0 alerts queued again" in replayed.output
    assert runner.invoke(app, ["webhooks", "remove", made["id"]]).exit_code == 0
    assert runner.invoke(app, ["webhooks", "remove", made["id"]]).exit_code == 1
