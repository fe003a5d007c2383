"""A CRM export into the store and back out as canonical tables, on SQLite and PostgreSQL:
what comes out is what went in, importing twice stores nothing twice, an erased lead is in no
later export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.ingest import contracts as c
from features.ingest.dataset_config import load_config
from features.ingest.loaders import load_dataset
from features.simulation.simulation_config import SimulationConfig
from features.simulation.simulator import simulate_crm
from store.canonical_export import export_store, load_store_dataset
from store.crm_import import import_dataset
from store.lead_schema import LeadSchema
from store.lead_store import LeadStore


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("crm")
    simulate_crm(SimulationConfig(n_leads=400, seed=5), folder)
    return load_dataset(load_config("demo"), folder)


def _sorted(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame[columns].copy()
    if c.EVENT_TYPE in out.columns:
        out[c.EVENT_TYPE] = out[c.EVENT_TYPE].astype("str")
    return out.sort_values(columns).reset_index(drop=True)


def test_export_gives_back_the_imported_tables(lead_store: LeadStore, simulated, tmp_path) -> None:
    imported = import_dataset(lead_store, simulated, chunk_leads=150)
    assert imported.leads_created == len(simulated.leads)
    assert imported.events_stored == len(simulated.events)
    loaded, exported = load_store_dataset(lead_store, load_config("demo"), tmp_path / "out")
    assert (exported.leads, exported.events) == (len(simulated.leads), len(simulated.events))
    assert loaded.report.dropped == []
    lead_columns = [c.LEAD_ID, c.CREATED_AT, c.ACCOUNT_ID, *simulated.attribute_names]
    pd.testing.assert_frame_equal(
        _sorted(loaded.leads, lead_columns), _sorted(simulated.leads, lead_columns)
    )
    event_columns = list(c.EVENT_COLUMNS)
    pd.testing.assert_frame_equal(
        _sorted(loaded.events, event_columns), _sorted(simulated.events, event_columns)
    )
    deal_columns = list(c.OUTCOME_COLUMNS)
    pd.testing.assert_frame_equal(
        _sorted(loaded.outcomes, deal_columns), _sorted(simulated.outcomes, deal_columns)
    )
    open_columns = list(c.OPEN_DEAL_COLUMNS)
    assert len(simulated.open_deals) > 0
    pd.testing.assert_frame_equal(
        _sorted(loaded.open_deals, open_columns), _sorted(simulated.open_deals, open_columns)
    )
    assert set(exported.revisions) == set(simulated.leads[c.LEAD_ID])
    # The same export again: nothing twice, no lead changed (no rescoring).
    again = import_dataset(lead_store, simulated)
    assert (again.events_stored, again.deals_stored, again.leads_changed) == (0, 0, 0)
    assert again.events_duplicate == len(simulated.events)


def test_an_erased_lead_is_in_no_later_export(lead_store: LeadStore, simulated, tmp_path) -> None:
    import_dataset(lead_store, simulated)
    erased = str(simulated.events[c.LEAD_ID].iloc[0])
    assert lead_store.erase(erased)["events"] > 0
    exported = export_store(lead_store, load_config("demo"), tmp_path / "out")
    folder = Path(exported.folder)
    for table in ("leads", "events", "outcomes"):
        ids = pd.read_parquet(folder / f"{table}.parquet", columns=[c.LEAD_ID])[c.LEAD_ID]
        assert erased not in set(ids), table
    assert exported.leads == len(simulated.leads) - 1


def test_import_refuses_what_the_store_cannot_hold(lead_store: LeadStore, simulated) -> None:
    with pytest.raises(ValueError, match="static"):
        LeadSchema.from_config(load_config("xeducation"))
    narrow = LeadSchema.from_config(
        load_config("demo").model_copy(
            update={
                "leads": load_config("demo").leads.model_copy(update={"attributes": {}}),
            }
        )
    )
    with pytest.raises(ValueError, match="not declared by the store's dataset config"):
        import_dataset(LeadStore(lead_store.db, narrow), simulated)
