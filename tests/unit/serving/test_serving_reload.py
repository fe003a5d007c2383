"""Hot reload: the watcher swaps whole models, keeps the old one when a load fails."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from serving.model_handle import ServedModel, _metadata
from serving.reload import AliasWatcher


def _model(version: str) -> ServedModel:
    return ServedModel(
        name="leadscore",
        alias="champion",
        version=version,
        scorer=object(),  # type: ignore[arg-type]
        trained_at=None,
        holdout_metrics={},
        thresholds={},
        loaded_at=datetime.now(UTC),
    )


class _Registry:
    def __init__(self) -> None:
        self.version = "1"
        self.loads: list[str] = []
        self.fail = False

    def resolve(self) -> str:
        return self.version

    def load(self, version: str) -> ServedModel:
        self.loads.append(version)
        if self.fail:
            raise RuntimeError("artifact store down")
        return _model(version)


def test_initial_load_and_swap_on_alias_move() -> None:
    registry = _Registry()
    watcher = AliasWatcher(registry.resolve, registry.load, interval=60)
    assert watcher.current().version == "1"
    assert watcher.check_once() is False
    registry.version = "2"
    assert watcher.check_once() is True
    assert watcher.current().version == "2"
    assert registry.loads == ["1", "2"]


def test_failed_load_keeps_serving_the_old_model() -> None:
    registry = _Registry()
    watcher = AliasWatcher(registry.resolve, registry.load, interval=60)
    registry.version, registry.fail = "2", True
    with pytest.raises(RuntimeError):
        watcher.check_once()
    assert watcher.current().version == "1"


def test_background_thread_follows_alias_and_readers_see_only_whole_models() -> None:
    registry = _Registry()
    watcher = AliasWatcher(registry.resolve, registry.load, interval=0.01)
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(watcher.current().version)

    thread = threading.Thread(target=reader)
    thread.start()
    watcher.start()
    registry.version = "7"
    deadline = time.monotonic() + 5
    while watcher.current().version != "7" and time.monotonic() < deadline:
        time.sleep(0.01)
    watcher.stop()
    stop.set()
    thread.join()
    assert watcher.current().version == "7"
    assert seen <= {"1", "7"}


def test_metadata_from_dict_object_or_attributes() -> None:
    class WithDict:
        def __init__(self) -> None:
            self.metadata = {"trained_at": "2026-01-01T00:00:00+00:00", "thresholds": {"a": 1}}

    class WithAttrs:
        def __init__(self) -> None:
            self.trained_at = None
            self.holdout_metrics = {"roc_auc": 0.8}
            self.thresholds = {"b": 2}

    assert _metadata(WithDict())["thresholds"] == {"a": 1}
    assert _metadata(WithAttrs())["holdout_metrics"] == {"roc_auc": 0.8}


def test_a_missing_sqlite_store_is_no_model_and_is_not_created(tmp_path) -> None:
    from serving.model_handle import ModelUnavailableError, resolve_version

    db = tmp_path / "nested" / "mlflow.db"
    with pytest.raises(ModelUnavailableError, match=r"models:/leadscore@champion.*mlflow\.db"):
        resolve_version(f"sqlite:///{db}", "leadscore", "champion")
    assert not db.exists()
    assert not db.parent.exists()


def test_an_existing_store_without_the_alias_is_no_model(tmp_path) -> None:
    from mlflow import MlflowClient

    from serving.model_handle import ModelUnavailableError, resolve_version

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()  # creates it
    with pytest.raises(ModelUnavailableError, match="no model registered as models:/x@champion"):
        resolve_version(uri, "x", "champion")
