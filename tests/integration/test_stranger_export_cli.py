"""A stranger's export through the real command line (separate processes, real stderr): `init`
drafts the config, `validate` profiles it, `train` excludes the post-call duration the user
declared an attribute, splits in time and warns of the drift, and prints a summary without the
libraries' chatter; `-v` brings the chatter back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from telemarketing_export import write_telemarketing_csv

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("stranger_export")]

CHATTER = ("INFO", "CloudPickle", "Downloading artifacts", "%|")


def _leadscore(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LEADSCORE_", "MLFLOW_", "TQDM_"))
    }
    env["COLUMNS"] = "200"  # one line per message, as on a wide terminal
    return subprocess.run(
        [sys.executable, "-m", "leadscore.cli", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_init_validate_train_on_a_strangers_export(tmp_path: Path) -> None:
    write_telemarketing_csv(tmp_path / "data" / "campaign.csv", n=3000)
    init = _leadscore(tmp_path, "init", "--data", "data/campaign.csv")
    assert init.returncode == 0, init.stderr
    assert "leadscore validate --dataset campaign.yaml --data-dir data" in init.stdout
    config = yaml.safe_load((tmp_path / "campaign.yaml").read_text())
    assert config["order_by"] == "row" and config["leads"]["post_outcome"] == ["duration"]
    # As in the report that started this: the duration declared an attribute.
    config["leads"]["post_outcome"] = []
    config["leads"]["attributes"]["duration"] = "numeric"
    (tmp_path / "campaign.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    validate = _leadscore(tmp_path, "validate", "--dataset", "campaign.yaml", "--data-dir", "data")
    assert validate.returncode == 0, validate.stderr
    assert "label rate: " in validate.stderr and "(" in validate.stderr
    assert "no id column: ids are row numbers (row-1 .. row-3000)" in validate.stderr

    train = _leadscore(
        tmp_path, "train", "--dataset", "campaign.yaml", "--data-dir", "data", "--json"
    )
    assert train.returncode == 0, train.stderr
    summary = json.loads(train.stdout)
    assert summary["excluded_features"] == ["duration"]
    (finding,) = summary["leakage"]
    assert finding["reason"].startswith("name has 'duration'")
    assert "the model leans on it" in finding["reason"]
    assert finding["auc_with"] > finding["auc_without"] + 0.1
    assert summary["split"]["kind"] == "out of time (rows in file order)"
    rates = [s["label_rate"] for s in summary["split"]["segments"].values()]
    assert rates[-1] > 1.5 * rates[0]
    assert any(w.startswith("the label rate drifts") for w in summary["warnings"])
    assert summary["cv_roc_auc"] and summary["holdout_metrics"]["roc_auc"] < 0.9
    assert summary["baselines_left_out"] == {
        "rule-based points": "no engagement events or visit counts to give points for"
    }
    assert summary["mlflow"]["registered_model"] == "leadscore-campaign"
    assert summary["dataset"]["generated_ids"]
    assert not [word for word in CHATTER if word in train.stderr], train.stderr

    human = _leadscore(
        tmp_path, "--tracking-uri", "sqlite:///other.db", "train", "--dataset", "campaign.yaml",
        "--data-dir", "data", "--allow-feature", "duration",
    )  # fmt: skip
    assert human.returncode == 0, human.stderr
    assert human.stdout == ""
    text = " ".join(human.stderr.split())
    assert "audit no feature excluded; kept on request although flagged: duration" in text
    assert "kept: --allow-feature" in text  # the audit's table says why it was flagged
    assert "next leadscore evaluate --dataset campaign.yaml" in text
    assert not [word for word in CHATTER if word in human.stderr], human.stderr


def test_verbose_shows_the_libraries_logs(tmp_path: Path) -> None:
    quiet = _leadscore(tmp_path, "--tracking-uri", "sqlite:///quiet.db", "models")
    loud = _leadscore(tmp_path, "-v", "--tracking-uri", "sqlite:///loud.db", "models")
    assert quiet.returncode == loud.returncode == 0
    assert "Creating initial MLflow database tables" not in quiet.stderr
    assert "INFO mlflow.store.db.utils: Creating initial MLflow database tables" in loud.stderr
