"""Appending newly closed deals: a new combined file, user data untouched, same contracts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.ingest.dataset_config import DatasetConfig
from features.ingest.loaders import load_dataset
from training.retrain import append_outcomes

CONFIG = {
    "name": "tiny",
    "leads": {
        "path": "leads.csv",
        "columns": {"lead_id": "id", "created_at": "created"},
        "attributes": {"source": "categorical"},
    },
    "outcomes": {
        "path": "deals.csv",
        "columns": {"lead_id": "id", "closed_at": "closed", "won": "won"},
        "timestamp_format": "%d-%m-%Y",
    },
}


def _write(folder: Path) -> DatasetConfig:
    pd.DataFrame(
        {"id": ["a", "b", "c"], "created": ["2024-01-01"] * 3, "source": ["web", "ads", "web"]}
    ).to_csv(folder / "leads.csv", index=False)
    pd.DataFrame({"id": ["a"], "closed": ["05-02-2024"], "won": ["yes"]}).to_csv(
        folder / "deals.csv", index=False
    )
    return DatasetConfig.model_validate(CONFIG)


def test_appends_into_a_new_file_and_loads(tmp_path: Path) -> None:
    config = _write(tmp_path)
    original = (tmp_path / "deals.csv").read_text()
    new = tmp_path / "new.csv"
    pd.DataFrame(
        {"id": ["b", "a"], "closed": ["10-03-2024", "05-02-2024"], "won": ["no", "yes"]}
    ).to_csv(new, index=False)
    appended = append_outcomes(config, tmp_path, new, tmp_path / "retrain")
    assert (appended.old_rows, appended.new_rows, appended.duplicates_dropped) == (1, 2, 1)
    assert appended.path.parent == (tmp_path / "retrain").resolve()
    assert (tmp_path / "deals.csv").read_text() == original  # user data untouched
    dataset = load_dataset(appended.config, tmp_path)
    outcomes = dataset.outcomes.sort_values("lead_id")
    assert outcomes["lead_id"].tolist() == ["a", "b"]
    assert outcomes["won"].tolist() == [True, False]
    assert outcomes["closed_at"].iloc[1] == pd.Timestamp("2024-03-10", tz="UTC")


def test_new_file_must_match_the_outcomes_columns(tmp_path: Path) -> None:
    config = _write(tmp_path)
    missing = tmp_path / "missing.csv"
    pd.DataFrame({"id": ["b"], "closed": ["10-03-2024"]}).to_csv(missing, index=False)
    with pytest.raises(ValueError, match=r"missing columns \['won'\]"):
        append_outcomes(config, tmp_path, missing, tmp_path / "retrain")
    extra = tmp_path / "extra.csv"
    pd.DataFrame({"id": ["b"], "closed": ["10-03-2024"], "won": ["no"], "rep": ["x"]}).to_csv(
        extra, index=False
    )
    with pytest.raises(ValueError, match=r"columns \['rep'\] are not in the outcomes table"):
        append_outcomes(config, tmp_path, extra, tmp_path / "retrain")
    assert not (tmp_path / "retrain").exists() or not any((tmp_path / "retrain").iterdir())


def test_bad_values_in_new_deals_fail_validation(tmp_path: Path) -> None:
    config = _write(tmp_path)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": ["b"], "closed": ["2024/03/10"], "won": ["no"]}).to_csv(bad, index=False)
    appended = append_outcomes(config, tmp_path, bad, tmp_path / "retrain")
    with pytest.raises(ValueError, match="closed"):
        load_dataset(appended.config, tmp_path)
