"""Champion/challenger through the CLI on a real SQLite registry: first promotion, refusal
naming the metric and both numbers, forced promotion (recorded), rollback, listing; one entry
per data set, and a challenger of another data set or feature set refused unless forced."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("training_registry")]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from training.pipeline import train_model
    from training.tracking import log_training_run
    from training.training_config import TrainingConfig
    from training.training_set import feature_params

    folder = tmp_path_factory.mktemp("registry")
    simulate_crm(SimulationConfig(n_leads=3000, days=730, seed=9), folder / "data")
    dataset = load_dataset(load_config("demo"), folder / "data")
    uri = f"sqlite:///{folder / 'mlflow.db'}"

    def train(config: TrainingConfig, data=dataset, name: str = "leadscore-demo") -> str:
        result = train_model(data, feature_params(data, 90, 30), config, seed=3)
        return log_training_run(
            result, data, tracking_uri=uri, artifact_root=folder / "artifacts",
            model_name=name, resolved_config={},
        ).version  # fmt: skip

    good = TrainingConfig(num_boost_round=300, early_stopping_rounds=30)
    # A stump ensemble on a tiny learning rate: clearly worse than the good model.
    weak = TrainingConfig(
        num_boost_round=3,
        early_stopping_rounds=1,
        lgbm_params={"num_leaves": 2, "learning_rate": 0.001, "feature_fraction": 0.3},
    )
    return uri, folder, train, good, weak


def _cli(uri: str, *args: str):
    from leadscore.cli import app

    return CliRunner().invoke(app, ["--tracking-uri", uri, *args], catch_exceptions=False)


def test_promote_refuse_force_rollback(store) -> None:
    from models.registry import alias_version, client_for

    uri, _, train, good, weak = store
    client = client_for(uri)
    empty = _cli(uri, "promote")
    assert empty.exit_code == 2
    assert "no leadscore model with a 'challenger' version" in " ".join(empty.output.split())

    v1 = train(good)
    first = _cli(uri, "promote")
    assert first.exit_code == 0, first.output
    assert "first champion" in first.output
    assert alias_version(client, "leadscore-demo", "champion") == v1

    v2 = train(weak)
    refused = _cli(uri, "promote")
    assert refused.exit_code == 1
    text = " ".join(refused.output.split())
    assert f"roc_auc: challenger v{v2}" in text and f"champion v{v1}" in text
    promotion = json.loads(client.get_model_version("leadscore-demo", v2).tags["promotion"])
    assert not promotion["promoted"]
    new, old = promotion["challenger_metrics"]["roc_auc"], promotion["champion_metrics"]["roc_auc"]
    assert new < old and f"{new:.4f}" in text and f"{old:.4f}" in text
    assert alias_version(client, "leadscore-demo", "champion") == v1

    forced = _cli(uri, "promote", "--force")
    assert forced.exit_code == 0 and "FORCED" in forced.output
    assert alias_version(client, "leadscore-demo", "champion") == v2
    tag = json.loads(client.get_model_version("leadscore-demo", v2).tags["promotion"])
    assert tag["forced"] and tag["promoted"]

    listed = _cli(uri, "models")
    assert listed.exit_code == 0 and "champion" in listed.output and "challenger" in listed.output

    back = _cli(uri, "rollback")
    assert back.exit_code == 0 and f"v{v2} -> v{v1}" in back.output
    assert alias_version(client, "leadscore-demo", "champion") == v1
    again = _cli(uri, "rollback")
    assert again.exit_code == 2 and "no previous champion" in " ".join(again.output.split())


def test_floors_refuse_a_first_champion(store, tmp_path) -> None:
    from models.registry import client_for, promote

    uri, _, train, good, _ = store
    client = client_for(uri)
    challenger = train(good)
    if client.get_registered_model("leadscore-demo").aliases.get("champion"):
        client.delete_registered_model_alias("leadscore-demo", "champion")
    decision = promote(client, "leadscore-demo", floors={"roc_auc": 0.999})
    assert not decision.promoted
    assert "roc_auc" in decision.message and "below the floor 0.9990" in decision.message
    assert decision.challenger == str(challenger)


def test_retrain_closes_the_loop(tmp_path) -> None:
    """Train on deals closed so far, then `retrain --outcomes` with the later deals: a new
    challenger is registered from a combined outcomes file; user files stay untouched."""
    import pandas as pd

    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from models.registry import alias_version, client_for, list_versions

    data = tmp_path / "data"
    simulate_crm(SimulationConfig(n_leads=3000, days=730, seed=4), data)
    outcomes = pd.read_parquet(data / "outcomes.parquet")
    cut = outcomes["closed_at"].quantile(0.85)
    # The export at the cut: deals closed by then, and the ones open then without their end.
    closed_by_cut = outcomes["closed_at"] <= cut
    open_at_cut = outcomes[(outcomes["opened_at"] <= cut) & ~closed_by_cut].assign(
        closed_at=pd.NaT, won=pd.NA, amount=float("nan")
    )
    first = pd.concat([outcomes[closed_by_cut], open_at_cut], ignore_index=True)
    first.to_parquet(data / "outcomes.parquet", index=False)
    later = outcomes[outcomes["closed_at"] > cut]
    later.to_csv(tmp_path / "new.csv", index=False)
    before = (data / "outcomes.parquet").read_bytes()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = ["--dataset", "demo", "--data-dir", str(data)]

    trained = _cli(uri, "train", *common, "--json")
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout)
    assert summary["mlflow"]["registered_version"] == "1"
    assert summary["mlflow"]["registered_model"] == "leadscore-demo"
    assert summary["split"]["kind"] == "out of time"
    assert set(summary["baselines"]) == {
        "rule-based points", "logistic regression", "naive Bayes frequency",
        "default LightGBM (LGBMClassifier())",
    }  # fmt: skip
    assert summary["next"] == "leadscore evaluate --dataset demo"
    assert _cli(uri, "promote").exit_code == 0

    retrained = _cli(uri, "retrain", *common, "--outcomes", str(tmp_path / "new.csv"))
    assert retrained.exit_code == 0, retrained.output
    text = " ".join(retrained.output.split())
    assert f"{len(later):,} new" in text
    assert "promoted v2" in text or "refused v2" in text  # the decision is always reported
    assert (data / "outcomes.parquet").read_bytes() == before
    combined = list((data / "retrain").glob("outcomes-*.csv"))
    assert len(combined) == 1 and len(pd.read_csv(combined[0])) == len(first) + len(later)
    # Deals open at the cut that closed later are read as closed, not as still open.
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset

    config = load_config("demo")
    source = config.outcomes.model_copy(update={"path": str(combined[0]), "format": "csv"})
    loaded = load_dataset(config.model_copy(update={"outcomes": source}), data)
    never_closed = outcomes["closed_at"].isna() & (outcomes["opened_at"] <= cut)
    assert len(loaded.open_deals) == never_closed.sum() < len(open_at_cut)
    assert "superseded by the same deal closed" in " ".join(loaded.report.notes)
    client = client_for(uri)
    assert alias_version(client, "leadscore-demo", "challenger") == "2"
    assert [v.version for v in list_versions(client, "leadscore-demo")] == ["2", "1"]


def test_each_data_set_has_its_own_entry_and_others_are_refused(store) -> None:
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from models.registry import alias_version, client_for, list_versions

    uri, folder, train, good, _ = store
    client = client_for(uri)
    if alias_version(client, "leadscore-demo", "challenger") is None:  # run on its own
        train(good)
    # Another data set (the demo's files without one attribute, under another name).
    demo = load_config("demo")
    leads = demo.leads.model_copy(
        update={"attributes": {k: v for k, v in demo.leads.attributes.items() if k != "industry"}}
    )
    other = load_dataset(demo.model_copy(update={"name": "crm-b", "leads": leads}), folder / "data")
    own = train(good, data=other, name="leadscore-crm-b")
    assert alias_version(client, "leadscore-crm-b", "challenger") == own
    listed = _cli(uri, "models")
    assert "leadscore-crm-b" in listed.output and "leadscore-demo" in listed.output
    (version,) = list_versions(client, "leadscore-crm-b")
    assert version.dataset == "crm-b"
    tags = client.get_model_version("leadscore-crm-b", own).tags
    assert "industry" not in tags["features"].split(",") and len(tags["features_sha256"]) == 64
    which = _cli(uri, "promote")
    assert which.exit_code == 2
    assert "registered models with a 'challenger' version: leadscore-crm-b, leadscore-demo" in (
        " ".join(which.output.split())
    )
    assert _cli(uri, "promote", "--dataset", "crm-b").exit_code == 0

    # The same data set's entry, forced by name, receiving a model of another feature set.
    champion = alias_version(client, "leadscore-demo", "champion") or train(good)
    if alias_version(client, "leadscore-demo", "champion") is None:
        assert _cli(uri, "promote", "--dataset", "demo").exit_code == 0
        champion = alias_version(client, "leadscore-demo", "champion")
    stranger = train(good, data=other, name="leadscore-demo")
    refused = _cli(uri, "promote", "--dataset", "demo")
    assert refused.exit_code == 1
    text = " ".join(refused.output.split())
    assert f"v{stranger} differs from champion v{champion}" in text
    assert "trained on data set 'crm-b', the champion on 'demo'" in text
    assert "features differ: -1 ['industry']" in text
    assert alias_version(client, "leadscore-demo", "champion") == champion
    forced = _cli(uri, "promote", "--dataset", "demo", "--force")
    assert forced.exit_code == 0 and "FORCED" in forced.output
    assert alias_version(client, "leadscore-demo", "champion") == stranger

    # Two data sets with a champion: the service serves the lead store's data set's model,
    # and asks which one when the store's data set has none.
    from serving.model_handle import ModelUnavailableError, served_model_name

    assert served_model_name(uri, None, store_dataset="demo") == "leadscore-demo"
    with pytest.raises(ModelUnavailableError, match="2 registered models with a 'champion'"):
        served_model_name(uri, None, store_dataset="olist")
    assert served_model_name(uri, "leadscore-crm-b", store_dataset="demo") == "leadscore-crm-b"
