"""The CLI under a bad day: a failing tracking store is one line, keys are masked, a folder
never shadows a shipped dataset config."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from common.settings import Settings
from features.ingest.dataset_config import config_path, load_config
from leadscore.cli import app
from leadscore.commands.serve import mask_key, plan_serve, print_banner, write_demo_key
from leadscore.commands.tracking_errors import shown_uri

runner = CliRunner()


def test_a_folder_never_shadows_a_shipped_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert load_config("demo").name == "demo"
    (tmp_path / "mine.yaml").write_text((config_path("demo")).read_text())
    assert config_path("mine.yaml") == Path("mine.yaml")
    with pytest.raises(FileNotFoundError, match=r"'configs/missing\.yaml' does not exist"):
        load_config("configs/missing.yaml")
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(FileNotFoundError, match="is a folder, not a YAML file"):
        load_config("folder.yaml")
    with pytest.raises(FileNotFoundError, match=r"'nope' not found \(shipped: demo, "):
        load_config("nope")


def test_keys_are_shown_masked_and_a_demo_key_is_kept_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "k3y-0123456789abcdefWXYZ"
    assert mask_key(key) == "k3...WXYZ" and mask_key("short") == "..."
    plan = plan_serve(Settings(data_dir=tmp_path), "127.0.0.1", 3000, [key], "leadscore")
    print_banner(plan, key)
    out = capsys.readouterr().out
    assert key not in out and "k3...WXYZ" in out and "Authorization: Bearer k3...WXYZ" in out
    assert plan.env["LEADSCORE_API_KEYS"] == key  # the service still gets the real key
    path = write_demo_key(tmp_path / "data", key)
    assert path.read_text().strip() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_uris_lose_their_password() -> None:
    assert shown_uri("http://bob:s3cret@mlflow.internal:5000/x") == "http://mlflow.internal:5000/x"
    assert shown_uri("sqlite:///mlflow.db") == "sqlite:///mlflow.db"


def _corrupt(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad\xbe\xef" * 4096)


@pytest.mark.parametrize("command", [["models"], ["promote"], ["rollback"], ["serve"]])
def test_a_corrupted_tracking_store_is_one_line(tmp_path: Path, command: list[str]) -> None:
    _corrupt(tmp_path / "mlflow.db")
    env = {"LEADSCORE_API_KEYS": "k-0123456789abcdef"}
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = runner.invoke(app, ["--tracking-uri", uri, *command], env=env)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) <= 2 and "Traceback" not in result.output, result.output
    assert "MLflow tracking store" in result.output and "corrupted" in result.output


def test_a_tracking_server_that_never_answers_times_out_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    for name in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    env = {"LEADSCORE_MLFLOW_REQUEST_TIMEOUT": "1", "LEADSCORE_MLFLOW_REQUEST_RETRIES": "0"}
    uri = f"http://127.0.0.1:{server.getsockname()[1]}"
    start = time.perf_counter()
    try:
        result = runner.invoke(app, ["--tracking-uri", uri, "models"], env=env)
    finally:
        server.close()
        for name in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
                     "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):  # fmt: skip
            os.environ.pop(name, None)
    assert time.perf_counter() - start < 20
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3
    assert "no answer" in result.output or "timed out" in result.output.lower(), result.output
