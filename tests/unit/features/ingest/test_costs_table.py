"""The optional costs table: read from CSV or Parquet through the dataset config like the other
tables, every broken row reported with table, column, count and examples, nothing dropped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.ingest.contracts import DataValidationError
from features.ingest.dataset_config import DatasetConfig
from features.ingest.loaders import load_dataset

LEADS = "lead_id,created_at\nL1,2024-01-01T00:00:00Z\n"
OUTCOMES = "lead_id,closed_at,won\nL1,2024-03-01T00:00:00Z,won\n"
COSTS = "name,medium,month,amount\nspring,email,2024-01,120.5\nspring,,2024-02,80\n,webinar,2024-02-15,300\n"


def _config(costs: dict | None = None) -> DatasetConfig:
    raw = {
        "name": "t",
        "leads": {"path": "leads.csv", "columns": {"lead_id": "lead_id", "created_at": "created_at"}},
        "outcomes": {"path": "outcomes.csv"},
        "costs": costs or {
            "path": "costs.csv",
            "columns": {"campaign": "name", "channel": "medium", "period": "month", "spend": "amount"},
        },
    }  # fmt: skip
    return DatasetConfig.model_validate(raw)


def _load(tmp_path: Path, costs: str = COSTS, config: DatasetConfig | None = None):
    (tmp_path / "leads.csv").write_text(LEADS)
    (tmp_path / "outcomes.csv").write_text(OUTCOMES)
    (tmp_path / "costs.csv").write_text(costs)
    return load_dataset(config or _config(), tmp_path)


def _problems(exc: pytest.ExceptionInfo[DataValidationError]) -> list[str]:
    return [str(problem) for problem in exc.value.problems]


def test_costs_become_canonical(tmp_path: Path) -> None:
    loaded = _load(tmp_path)
    costs = loaded.costs
    assert list(costs.columns) == ["campaign", "channel", "period", "spend"]
    assert costs["campaign"].tolist()[:2] == ["spring", "spring"] and pd.isna(costs["campaign"][2])
    assert pd.isna(costs["channel"][1]) and costs["channel"][2] == "webinar"
    assert costs["period"].tolist() == [
        pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC"),
        pd.Timestamp("2024-02-15", tz="UTC"),
    ]  # fmt: skip
    assert costs["spend"].tolist() == [120.5, 80.0, 300.0]
    assert loaded.report.rows_read["costs"] == loaded.report.rows_kept["costs"] == 3
    # Parquet, with canonical names needing no mapping, reads the same.
    costs.to_parquet(tmp_path / "costs.parquet")
    parquet = _load(tmp_path, config=_config({"path": "costs.parquet"}))
    pd.testing.assert_frame_equal(parquet.costs, costs)


def test_without_costs_the_table_is_empty(tmp_path: Path) -> None:
    config = _config().model_copy(update={"costs": None})
    loaded = _load(tmp_path, config=config)
    assert loaded.costs.empty and list(loaded.costs.columns) == [
        "campaign", "channel", "period", "spend"
    ]  # fmt: skip
    assert "costs" not in loaded.report.rows_read


def test_every_broken_row_is_reported(tmp_path: Path) -> None:
    broken = (
        "name,medium,month,amount\n"
        "spring,email,2024-01,lots\n"  # not a number
        ",,2024-02,10\n"  # neither campaign nor channel
        "spring,email,soon,10\n"  # unparsable period
        "spring,email,2024-03,-5\n"  # negative
        "spring,email,2024-04,\n"  # missing spend
    )
    with pytest.raises(DataValidationError) as exc:
        _load(tmp_path, broken)
    assert sorted(_problems(exc)) == sorted([
        "costs.amount: not a number: 1 row(s) (e.g. 'lots')",
        "costs.name: neither a campaign nor a channel: 1 row(s) (e.g. 'row 1')",
        "costs.month: unparsable timestamp (expected ISO 8601): 1 row(s) (e.g. 'soon')",
        "costs.amount: negative spend: 1 row(s) (e.g. '-5')",
        "costs.amount: missing spend: 1 row(s) (e.g. 'row 4')",
    ])  # fmt: skip


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError) as exc:
        _load(tmp_path, "name,month\nspring,2024-01\n")
    found = "(found: ['name', 'month'])"
    assert _problems(exc) == [
        f"costs.amount: missing column {found}: 1 row(s)",
        f"costs.medium: missing column {found}: 1 row(s)",
    ]
    with pytest.raises(DataValidationError) as exc:
        _load(tmp_path, "period,spend\n2024-01,1\n", _config({"path": "costs.csv"}))
    assert _problems(exc) == ["costs.campaign: needs a campaign or a channel column: 1 row(s)"]


def test_static_datasets_take_no_costs() -> None:
    with pytest.raises(ValueError, match="remove events/outcomes/costs"):
        DatasetConfig.model_validate(
            {"name": "s", "mode": "static", "costs": {"path": "c.csv"},
             "leads": {"path": "l.csv", "columns": {"lead_id": "id", "label": "y"}}}
        )  # fmt: skip
