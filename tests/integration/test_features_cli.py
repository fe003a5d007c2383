"""`leadscore features build`: the streamed Parquet equals the in-memory feature table, the
summary is right, and bad input leaves no file behind."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


def _build(data_dir, out, *extra: str):
    from leadscore.cli import app

    return CliRunner().invoke(
        app,
        ["features", "build", "--dataset", "demo", "--data-dir", str(data_dir), "--out", str(out),
         *extra],
        catch_exceptions=False,
    )  # fmt: skip


def test_features_build_streams_the_same_rows_as_the_table(tmp_path) -> None:
    from common.settings import Settings
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from features.spec import FeatureParams
    from features.trainset.feature_table import build_feature_table, feature_spec_for

    data = tmp_path / "data"
    simulate_crm(SimulationConfig(n_leads=5000, seed=4), data)
    out = tmp_path / "out" / "features.parquet"
    run = _build(data, out)
    assert run.exit_code == 0, run.output
    printed = json.loads(run.stdout[run.stdout.index("{") :])

    settings = Settings()
    dataset = load_dataset(load_config("demo"), data)
    params = FeatureParams(
        horizon_days=settings.horizon_days, every_days=settings.snapshot_every_days
    )
    table = build_feature_table(dataset, params, spec=feature_spec_for(dataset, params))
    written = pd.read_parquet(out)
    # 5000 leads are 3 chunks of 2000: one row group each, written as they were done.
    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    key = ["lead_id", "as_of"]
    expected = table.sort_values(key).reset_index(drop=True)
    expected.attrs = {}
    pd.testing.assert_frame_equal(
        written.sort_values(key).reset_index(drop=True), expected, check_exact=True
    )
    assert printed["rows"] == len(table) and printed["positives"] == int(table["label"].sum())
    assert printed["snapshots"] == table.attrs["snapshots"]
    schema = json.loads(out.with_name("features.parquet.schema.json").read_text())
    assert schema["rows"] == len(table) and schema["columns"] == list(table.columns)
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "features.parquet",
        "features.parquet.schema.json",
    ]
    # Floats are not dictionary-encoded (slow, little gain), keys and labels are; only the
    # keys keep min/max statistics.
    chunks = pq.ParquetFile(out).metadata.row_group(0)
    columns = {
        chunks.column(i).path_in_schema: (
            "RLE_DICTIONARY" in chunks.column(i).encodings, chunks.column(i).is_stats_set
        )
        for i in range(chunks.num_columns)
    }  # fmt: skip
    floats = [name for name, dtype in table.dtypes.items() if dtype == "float64"]
    assert floats and all(columns[name] == (False, False) for name in floats)
    assert columns["lead_id"] == (True, True) and columns["label"] == (True, True)
    assert columns["as_of"][1] and chunks.column(0).compression == "SNAPPY"


def test_features_build_rejects_bad_input_and_writes_nothing(tmp_path) -> None:
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm

    data = tmp_path / "data"
    simulate_crm(SimulationConfig(n_leads=300, seed=4), data)
    events = pd.read_parquet(data / "events.parquet")
    events["occurred_at"] = events["occurred_at"].astype(str)
    events.loc[7, "occurred_at"] = "yesterday"
    events.to_parquet(data / "events.parquet")
    out = tmp_path / "out" / "features.parquet"
    run = _build(data, out)
    assert run.exit_code == 2
    assert "occurred_at" in run.output and "yesterday" in run.output
    leftovers = list(out.parent.iterdir()) if out.parent.exists() else []
    assert leftovers == []
