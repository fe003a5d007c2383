"""Helpers for serving tests: register a model in a throwaway MLflow store, run the service.

The service is a real ``bentoml serve`` subprocess on a free port, configured only through
``LEADSCORE_*`` environment variables, exactly as ``leadscore serve`` runs it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[2]
STUB_MODEL_CODE = Path(__file__).resolve().parent / "stub_leadscore_model.py"
API_KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def free_port() -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def register_stub(store: Path, alias: str | None = "champion", code: Path = STUB_MODEL_CODE) -> str:
    """Log the stub pyfunc (``code``) into ``store`` (SQLite + local artifacts), register it,
    set alias."""
    import mlflow
    from mlflow import MlflowClient

    uri = f"sqlite:///{store / 'mlflow.db'}"
    # log_model uses the process-wide URIs; other code (training) may have set both.
    previous = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = client.get_experiment_by_name("serving-tests")
        experiment_id = (
            experiment.experiment_id
            if experiment
            else client.create_experiment("serving-tests", str(store / "artifacts"))
        )
        with mlflow.start_run(experiment_id=experiment_id):
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(code),
                registered_model_name="leadscore",
            )
        version = str(info.registered_model_version)
        if alias:
            client.set_registered_model_alias("leadscore", alias, version)
        return version
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])


def tracking_uri(store: Path) -> str:
    """The SQLite tracking URI of a store made by :func:`register_stub`."""
    return f"sqlite:///{store / 'mlflow.db'}"


@dataclass
class RunningService:
    """A started service: its base URL, process and log file."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def service_env(store: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the service process: MLflow store, key, data folder (the lead store's
    SQLite file goes there unless ``extra`` sets LEADSCORE_STORE_URL), fast reload."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADSCORE_", "MLFLOW_"))}
    env.update(
        {
            "LEADSCORE_MLFLOW_TRACKING_URI": tracking_uri(store),
            "LEADSCORE_API_KEYS": API_KEY,
            "LEADSCORE_DATA_DIR": str(store / "data"),
            "LEADSCORE_RELOAD_SECONDS": "0.5",
            "BENTOML_HOME": str(store / "bentoml"),
        }
    )
    env.update(extra or {})
    return env


@contextmanager
def run_service(
    store: Path, extra_env: Mapping[str, str] | None = None, timeout: float = 90.0
) -> Iterator[RunningService]:
    """Run ``bentoml serve serving.service:LeadScoreService`` until the block ends."""
    port = free_port()
    log_path = store / f"serve-{port}.log"
    process = start_process(store, port, log_path, extra_env)
    service = RunningService(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_ready(service, timeout)
        yield service
    finally:
        stop(process)


def wait_ready(service: RunningService, timeout: float) -> None:
    """Poll ``/readyz`` until 200; fail with the server log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"service exited early:\n{service.log()[-4000:]}")
        try:
            if httpx.get(f"{service.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"service not ready in {timeout}s:\n{service.log()[-4000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the service: SIGTERM to its process group (the server drains and stops its
    workers), then SIGKILL to whatever of it is left. Its workers run in sessions of their
    own, so they are looked up first: a worker outliving its server would keep polling its
    store for the rest of the suite."""
    if process.poll() is not None:
        return
    try:
        workers = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        workers = []
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    _, alive = psutil.wait_procs(workers, timeout=10)
    for worker in alive:
        worker.kill()
    psutil.wait_procs(alive, timeout=10)


def start_process(
    store: Path, port: int, log_path: Path, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``bentoml serve`` for the service on ``port``, output to ``log_path``."""
    command = [
        *(sys.executable, "-m", "bentoml", "serve", "serving.service:LeadScoreService"),
        *("--host", "127.0.0.1", "--port", str(port)),
    ]
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=service_env(store, extra_env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stopping it also stops its worker processes
        )


def register_trained(store: Path, n_leads: int = 2500, seed: int = 7) -> str:
    """Simulate a small CRM, train a real model, register it and make it the champion.

    Tests may import training (serving never does). About a minute on two cores.
    """
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from features.spec import FeatureParams
    from models.registry import client_for
    from training.pipeline import train_model
    from training.tracking import log_training_run
    from training.training_config import TrainingConfig

    simulate_crm(SimulationConfig(n_leads=n_leads, seed=seed), store / "data")
    dataset = load_dataset(load_config("demo"), store / "data")
    result = train_model(
        dataset,
        FeatureParams(horizon_days=90, every_days=30),
        TrainingConfig(num_boost_round=200, cv_folds=0),
        seed=seed,
    )
    uri = tracking_uri(store)
    logged = log_training_run(
        result,
        dataset,
        tracking_uri=uri,
        artifact_root=store / "artifacts",
        model_name="leadscore",
        resolved_config={"test": "serving"},
    )
    client_for(uri).set_registered_model_alias("leadscore", "champion", logged.version)
    return logged.version
