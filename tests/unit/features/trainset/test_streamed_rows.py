"""Training rows written to Parquet and streamed by chunks equal the snapshot table."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from engine_checks import (
    PARAMS,
    spec_for,
)

from features.batch.batch_engine import compute_features
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF, DataValidationError
from features.ingest.dataset_config import SnapshotConfig
from features.spec import FeatureSpec
from features.trainset.snapshots import SnapshotCounts


def test_pipeline_writes_parquet_and_schema_that_round_trip(
    small_crm, dataset_factory, tmp_path
) -> None:
    from features.trainset.feature_table import (
        build_feature_table,
        schema_path,
        write_feature_table,
    )

    data = dataset_factory(*small_crm)
    calls: list[int] = []
    table = build_feature_table(data, PARAMS, calls.append)
    assert sum(calls) == len(small_crm[0])
    assert list(table.columns[:3]) == [c.LEAD_ID, AS_OF, c.LABEL]
    spec = FeatureSpec.from_dict(table.attrs["spec"])
    out = write_feature_table(table, spec, tmp_path / "features.parquet")
    again = pd.read_parquet(out)
    pd.testing.assert_frame_equal(again, table, check_dtype=False, check_index_type=False)
    schema = json.loads(schema_path(out).read_text())
    assert FeatureSpec.from_dict(schema["spec"]) == spec and schema["rows"] == len(table)
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "features.parquet",
        "features.parquet.schema.json",
    ]


def _by_key(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values([c.LEAD_ID, AS_OF], kind="stable").reset_index(drop=True)


def _assert_stream_equals_table(dataset, spec, **options) -> None:
    """Rows laid and labelled inside the engine, chunk by chunk, equal the snapshot table's
    rows through compute_features (``build_snapshots``, its lead-id strings hashed back to
    leads): value for value, dtype for dtype; the summaries agree."""
    from features.trainset.feature_table import build_snapshots_for, stream_feature_table

    snapshots = build_snapshots_for(dataset, PARAMS)
    expected = compute_features(
        spec, dataset.leads, dataset.events, dataset.outcomes, snapshots.labelled,
        open_deals=dataset.open_deals,
    )  # fmt: skip
    expected.insert(2, c.LABEL, snapshots.labelled[c.LABEL].to_numpy())
    counts = SnapshotCounts()
    parts = list(stream_feature_table(dataset, PARAMS, spec=spec, counts=counts, **options))
    streamed = pd.concat(parts, ignore_index=True)
    assert len(parts) > 1
    assert counts.summary() == snapshots.summary()
    # Rows come lead by lead (an account's leads together), each lead's in time order.
    assert streamed.groupby(c.LEAD_ID, sort=False)[AS_OF].is_monotonic_increasing.all()
    assert (
        streamed[c.LEAD_ID].nunique() == (streamed[c.LEAD_ID] != streamed[c.LEAD_ID].shift()).sum()
    )
    pd.testing.assert_frame_equal(_by_key(streamed), _by_key(expected), check_exact=True)


@pytest.mark.parametrize(
    "grid",
    [
        SnapshotConfig(),
        SnapshotConfig(repeat_purchase=True, every_days=14),
        SnapshotConfig(grid="at_creation"),
        SnapshotConfig(max_lead_age_days=120, every_days=10),
    ],
    ids=["periodic", "repeat-purchase", "at-creation", "max-age"],
)
def test_streamed_training_rows_equal_the_snapshot_table(crm_factory, dataset_factory, grid):
    leads, events, outcomes = crm_factory(400, seed=11)
    dataset = dataset_factory(leads, events, outcomes, snapshots=grid)
    spec = spec_for(leads, events, outcomes)
    _assert_stream_equals_table(dataset, spec, chunk_leads=37, threads=2)


def test_streamed_training_rows_equal_the_table_on_the_simulator(tmp_path) -> None:
    """With open opportunities, accounts and every attribute of the demo config."""
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from features.trainset.feature_table import feature_spec_for

    simulate_crm(SimulationConfig(n_leads=1200, seed=8), tmp_path)
    dataset = load_dataset(load_config("demo"), tmp_path)
    spec = feature_spec_for(dataset, PARAMS)
    assert "open_opportunity" in spec.names and len(dataset.open_deals) > 0
    _assert_stream_equals_table(dataset, spec, chunk_leads=100)


def test_streamed_write_is_atomic_when_a_chunk_fails(small_crm, dataset_factory, tmp_path):
    """A failure after some chunks were written leaves the previous file as it was and no
    temporary file; a complete stream reads back as the rows it was given."""
    from features.trainset.feature_table import stream_feature_table, write_feature_stream

    dataset = dataset_factory(*small_crm)
    spec = spec_for(*small_crm)
    out = tmp_path / "features.parquet"
    parts = list(stream_feature_table(dataset, PARAMS, spec=spec, chunk_leads=50))
    assert write_feature_stream(iter(parts), spec, out) == sum(len(p) for p in parts)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.concat(parts, ignore_index=True))
    before = out.read_bytes()

    def failing():
        yield parts[0]
        raise DataValidationError([])

    with pytest.raises(DataValidationError):
        write_feature_stream(failing(), spec, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "features.parquet",
        "features.parquet.schema.json",
    ]
