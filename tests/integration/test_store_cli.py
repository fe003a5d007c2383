"""`leadscore store ...`, `train`/`retrain --from-store` and `score --from-store` on a real
MLflow store and a lead store on SQLite and on a real PostgreSQL server: the closed loop from a
CRM's writes back into the model, and every lead's current score for reverse-ETL."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("store-cli")]


@pytest.fixture(scope="module")
def crm_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm

    folder = tmp_path_factory.mktemp("crm")
    simulate_crm(SimulationConfig(n_leads=2500, seed=17), folder)
    return folder


def _json(output: str) -> dict:
    """The JSON document a command printed (its progress and tables go around it)."""
    return json.loads(output[output.index("{") : output.rindex("}") + 1])


def _run(args: list[str], env: dict[str, str]) -> str:
    from leadscore.cli import app

    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


# One training per database: train + promote on SQLite, retrain on PostgreSQL.
@pytest.mark.parametrize(
    ("command", "store_url"),
    [("train", "sqlite"), ("retrain", "postgresql")],
    indirect=["store_url"],
)
def test_the_store_trains_retrains_and_scores_every_lead(
    command: str, crm_export: Path, store_url: str, tmp_path: Path
) -> None:
    from features.ingest import contracts as c
    from store.lead_store import LeadStore
    from store.records import DealRecord, IngestBatch, to_micros

    env = {"LEADSCORE_STORE_URL": store_url, "LEADSCORE_STORE_DATASET": "demo"}
    common = ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--data-dir", str(tmp_path)]
    imported = _json(_run([*common, "store", "import", "--data-dir", str(crm_export)], env))
    leads = pd.read_parquet(crm_export / "leads.parquet")
    events = pd.read_parquet(crm_export / "events.parquet")
    assert imported["leads_created"] == len(leads) and imported["events_stored"] == len(events)
    # A deal the CRM closes after the export, written to the store: it must reach the model.
    late = str(leads[c.LEAD_ID].iloc[0])
    closed = pd.Timestamp(events[c.OCCURRED_AT].max()).to_pydatetime()
    store = LeadStore.open(store_url, "demo")
    store.ingest(
        IngestBatch(
            deals=[DealRecord(late, "d", closed_at=to_micros(closed), won=True, amount=9.0)]
        )
    )
    store.close()

    if command == "train":
        output = _run([*common, "train", "--from-store", "--json"], env)
        _run([*common, "promote", "--force"], env)
    else:  # retrain promotes by itself (the first model has no champion to beat)
        output = _run([*common, "retrain", "--from-store", "--json"], env)
    version = _json(output)["mlflow"]["registered_version"]
    exports = sorted((tmp_path / "store-export").iterdir())
    assert len(exports) == 1
    outcomes = pd.read_parquet(exports[0] / "outcomes.parquet")
    assert ((outcomes[c.LEAD_ID] == late) & (outcomes["amount"] == 9.0)).sum() == 1

    out = tmp_path / "scores.parquet"
    _run([*common, "score", "--from-store", "--out", str(out)], env)
    scores = pd.read_parquet(out)
    assert set(scores[c.LEAD_ID]) == set(leads[c.LEAD_ID])
    assert scores["tier_changed"].all() and set(scores["model_version"]) == {version}
    stats = _json(_run([*common, "store", "stats"], env))
    assert stats["scores_by_model_version"] == {version: len(leads)}
    assert stats["leads_awaiting_score"] == 0
    # The next night: the same tiers, nothing for a reverse-ETL sync to change.
    _run([*common, "score", "--from-store", "--out", str(out)], env)
    again = pd.read_parquet(out)
    assert again["tier_changed"].mean() < 0.01
    # Export is the store as canonical tables, readable by `leadscore validate`.
    _run([*common, "store", "export", "--out", str(tmp_path / "export")], env)
    _run([*common, "validate", "--dataset", str(tmp_path / "export" / "dataset.yaml"),
          "--data-dir", str(tmp_path / "export")], env)  # fmt: skip
