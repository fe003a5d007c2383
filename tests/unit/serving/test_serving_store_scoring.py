"""A stored lead is scored on the same features the batch engine computes for it, account
roll-up included (computed by the store), on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from features.batch.batch_engine import AS_OF, compute_features
from features.ingest import contracts as c
from features.ingest.dataset_config import load_config
from features.ingest.loaders import load_dataset
from features.online.online_engine import OnlineEngine
from features.simulation.simulation_config import SimulationConfig
from features.simulation.simulator import simulate_crm
from features.spec import FeatureParams
from features.trainset.feature_table import feature_spec_for
from models.request_rows import request_row
from serving.model_handle import ServedModel
from serving.store_scoring import RollupRule, feature_row, lead_in
from store.crm_import import import_dataset
from store.lead_store import LeadStore
from store.records import to_micros

COLLEAGUES = "account_engaged_colleagues_30d"


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("crm")
    # Few leads per account, many accounts with several engaged leads: the roll-up matters.
    simulate_crm(SimulationConfig(n_leads=300, seed=9, leads_per_account=4.0), folder)
    return load_dataset(load_config("demo"), Path(folder))


def test_stored_leads_get_the_batch_engines_features(lead_store: LeadStore, crm) -> None:
    import_dataset(lead_store, crm)
    spec = feature_spec_for(crm, FeatureParams())
    engine = OnlineEngine(spec)
    model = ServedModel(
        name="leadscore", alias="champion", version="1", scorer=None, trained_at=None,
        holdout_metrics={}, thresholds={}, loaded_at=datetime.now(UTC),
        bundle=SimpleNamespace(spec=spec, online_engine=engine),
    )  # fmt: skip
    as_of = crm.events[c.OCCURRED_AT].quantile(0.8).floor("s").to_pydatetime()
    leads = crm.leads.loc[crm.leads[c.CREATED_AT] <= as_of]
    snapshots = pd.DataFrame({c.LEAD_ID: leads[c.LEAD_ID].to_numpy(), AS_OF: pd.Timestamp(as_of)})
    batch = compute_features(
        spec, crm.leads, crm.events, crm.outcomes, snapshots, open_deals=crm.open_deals
    ).set_index(c.LEAD_ID)
    rule = RollupRule.of(model)
    inputs = lead_store.scoring_inputs(
        list(batch.index), to_micros(as_of),
        passive_types=rule.passive_types, account_window_days=rule.window_days,
    )  # fmt: skip
    assert len(inputs) == len(batch)
    mismatches = []
    for item in inputs:
        online = feature_row(engine, item, as_of, model.attribute_names)
        # Models without a bundle get request objects: the same features from them.
        lead = lead_in(item, as_of, model.attribute_names)
        assert request_row(engine, model.attribute_names, lead, as_of) == pytest.approx(
            online, nan_ok=True
        )
        row = batch.loc[item.lead_id]
        for feature in spec.features:
            a, b = online[feature.name], row[feature.name]
            if feature.kind == "categorical":
                same = (a is None and pd.isna(b)) or a == b
            else:
                same = (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9
            if not same:
                mismatches.append(f"{item.lead_id} {feature.name}: store={a!r} batch={b!r}")
    assert mismatches == []
    # The data exercises the roll-up: leads with engaged colleagues, and leads alone.
    colleagues = batch[COLLEAGUES]
    assert (colleagues > 0).sum() >= 10 and (colleagues == 0).sum() >= 10
