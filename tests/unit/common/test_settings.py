"""Settings: environment with the LEADSCORE_ prefix, explicit overrides, secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from common.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in ("MLFLOW_TRACKING_URI", "LEADSCORE_MLFLOW_TRACKING_URI", "LEADSCORE_API_KEYS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_embedded_and_local() -> None:
    settings = Settings()
    assert settings.mlflow_tracking_uri == "sqlite:///mlflow.db"
    assert settings.horizon_days == 90
    assert settings.api_keys == []


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSCORE_HORIZON_DAYS", "60")
    monkeypatch.setenv("LEADSCORE_SEED", "7")
    monkeypatch.setenv("LEADSCORE_API_KEYS", "alpha, beta")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    settings = Settings()
    assert (settings.horizon_days, settings.seed) == (60, 7)
    assert settings.api_key_values() == ["alpha", "beta"]
    assert settings.mlflow_tracking_uri == "http://mlflow.internal:5000"


def test_explicit_values_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSCORE_SEED", "7")
    assert Settings(seed=3).seed == 3
    assert Settings(mlflow_tracking_uri="sqlite:///x.db").mlflow_tracking_uri == "sqlite:///x.db"


def test_api_keys_never_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSCORE_API_KEYS", "s3cret-key")
    settings = Settings()
    assert "s3cret-key" not in repr(settings)
    assert "s3cret-key" not in settings.model_dump_json()


def test_invalid_values_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSCORE_HORIZON_DAYS", "0")
    with pytest.raises(ValidationError, match="horizon_days"):
        Settings()


def test_settings_are_immutable() -> None:
    with pytest.raises(ValidationError):
        Settings().seed = 1  # type: ignore[misc]
