"""A stranger's export (a generated telemarketing campaign: ';'-separated, no id, rows in time
order, a post-call duration) and the ways such exports go wrong: each is loaded, refused with a
message naming what to change, or reported, never silently misread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from telemarketing_export import telemarketing_frame, write_telemarketing_csv

from features.ingest.contracts import DataValidationError
from features.ingest.dataset_config import DatasetConfig
from features.ingest.loaders import load_dataset, read_table
from features.ingest.profile import profile_dataset

ATTRIBUTES = {
    "age": "numeric",
    "job": "categorical",
    "housing": "boolean",
    "poutcome": "categorical",
}


def _config(**leads: object) -> DatasetConfig:
    source = {
        "path": "campaign.csv",
        "csv_options": {"sep": ";"},
        "columns": {"label": "y"},
        "attributes": ATTRIBUTES,
        "post_outcome": ["duration"],
        **leads,
    }
    return DatasetConfig.model_validate({"name": "campaign", "mode": "static", "leads": source})


def _problems(exc: pytest.ExceptionInfo[DataValidationError]) -> list[str]:
    return [str(problem) for problem in exc.value.problems]


def test_export_without_an_id_gets_row_numbers_and_says_so(tmp_path: Path) -> None:
    write_telemarketing_csv(tmp_path / "campaign.csv", n=300)
    dataset = load_dataset(_config(), tmp_path)
    assert dataset.leads["lead_id"].head(3).tolist() == ["row-1", "row-2", "row-3"]
    assert dataset.config.generated_ids
    assert any(
        "no id column: ids are row numbers (row-1 .. row-300)" in n for n in dataset.report.notes
    )
    expected = (telemarketing_frame(300)["y"] == "yes").astype("int8").tolist()
    assert dataset.leads["label"].tolist() == expected


def test_a_wrong_separator_is_one_hint_not_a_missing_column_per_column(tmp_path: Path) -> None:
    write_telemarketing_csv(tmp_path / "campaign.csv", n=50)
    with pytest.raises(DataValidationError) as exc:
        load_dataset(_config(csv_options={}), tmp_path)
    (problem,) = _problems(exc)
    assert problem.startswith("leads.*: the header was read as one column ('age;job;")
    assert "looks ';'-separated; add csv_options: {sep: ';'}" in problem


def test_unknown_label_values_are_named_not_read_as_negatives(tmp_path: Path) -> None:
    frame = telemarketing_frame(100)
    frame.loc[[3, 7, 9], "y"] = ["Pending", "2", "Pending"]
    write_telemarketing_csv(tmp_path / "campaign.csv", frame=frame)
    with pytest.raises(DataValidationError) as exc:
        load_dataset(_config(), tmp_path)
    (problem,) = _problems(exc)
    assert "label values neither positive nor negative: 'Pending' (2), '2' (1)" in problem
    assert "leads.label_positive or leads.label_negative" in problem and "3 row(s)" in problem
    # Mapped by the config, they load.
    dataset = load_dataset(
        _config(label_positive=["yes"], label_negative=["no", "pending", "2"]), tmp_path
    )
    assert dataset.leads["label"].iloc[[3, 7, 9]].tolist() == [0, 0, 0]


def test_a_header_only_export_fails(tmp_path: Path) -> None:
    write_telemarketing_csv(tmp_path / "campaign.csv", frame=telemarketing_frame(10).iloc[:0])
    with pytest.raises(
        DataValidationError, match=r"leads\.\*: the export has no rows \(campaign.csv\)"
    ):
        load_dataset(_config(), tmp_path)


def test_a_declared_column_empty_in_every_row_is_reported(tmp_path: Path) -> None:
    frame = telemarketing_frame(200)
    frame["poutcome"] = ""
    write_telemarketing_csv(tmp_path / "campaign.csv", frame=frame)
    dataset = load_dataset(_config(), tmp_path)
    assert "leads: declared attributes empty in every row: ['poutcome']" in dataset.report.notes
    profile = profile_dataset(dataset, read_table(dataset.config.leads, tmp_path, "leads"))
    assert "leads.poutcome: declared categorical but empty in every row" in profile.warnings


def _dated(tmp_path: Path, stamps: list[str], **leads: object) -> DatasetConfig:
    frame = telemarketing_frame(len(stamps))
    frame["contacted"] = stamps
    write_telemarketing_csv(tmp_path / "campaign.csv", frame=frame)
    return _config(**leads)


def test_out_of_range_dates_are_named_or_read_as_never(tmp_path: Path) -> None:
    stamps = ["2021-03-01", "9999-12-31", "2021-03-02", "0001-01-01", "9999-12-31"]
    config = _dated(tmp_path, stamps, exclude=["contacted"])
    config = config.model_copy(update={"order_by": "contacted"})
    with pytest.raises(DataValidationError) as exc:
        load_dataset(config, tmp_path)
    (problem,) = _problems(exc)
    assert problem.startswith(
        "leads.contacted: date out of range (supported: 1677-09-22 .. 2262-04-11"
    )
    assert problem.endswith("3 row(s) (e.g. '9999-12-31', '0001-01-01')")
    # Read as never, a date every row needs is missing (ordering needs one per row).
    never = config.model_copy(
        update={"leads": config.leads.model_copy(update={"out_of_range_dates": "never"})}
    )
    with pytest.raises(
        DataValidationError, match=r"leads.contacted: missing timestamp: 3 row\(s\)"
    ):
        load_dataset(never, tmp_path)


def test_a_never_close_date_makes_a_deal_still_open(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("id,created\nL1,2024-01-01\nL2,2024-01-02\n")
    (tmp_path / "deals.csv").write_text(
        "id,opened,closed,won\nL1,2024-02-01,9999-12-31,\nL2,2024-02-01,2024-03-01,yes\n"
    )
    raw = {
        "name": "t",
        "leads": {"path": "leads.csv", "columns": {"lead_id": "id", "created_at": "created"}},
        "outcomes": {
            "path": "deals.csv",
            "columns": {
                "lead_id": "id",
                "opened_at": "opened",
                "closed_at": "closed",
                "won": "won",
            },
            "out_of_range_dates": "never",
        },
    }
    dataset = load_dataset(DatasetConfig.model_validate(raw), tmp_path)
    assert dataset.open_deals["lead_id"].tolist() == ["L1"]
    assert dataset.outcomes["lead_id"].tolist() == ["L2"]
    assert any(
        "outcomes.closed: 1 date(s) out of range read as never" in n for n in dataset.report.notes
    )


def test_profile_lists_every_column_and_suggests_order_by(tmp_path: Path) -> None:
    write_telemarketing_csv(tmp_path / "campaign.csv", n=3000)
    dataset = load_dataset(_config(), tmp_path)
    profile = profile_dataset(dataset, read_table(dataset.config.leads, tmp_path, "leads"))
    roles = {p.column: p.role for p in profile.columns}
    assert roles["y"] == "label" and roles["duration"] == "post_outcome"
    assert roles["age"] == "attribute" and roles["marital"] == "ignored"
    by_column = {p.column: p for p in profile.columns}
    # 'unknown' is a category unless the config lists it under missing_values.
    assert by_column["poutcome"].missing == 0.0 and by_column["poutcome"].distinct == 4
    assert by_column["education"].missing == 0.0 and by_column["education"].distinct == 4
    assert by_column["job"].distinct == 7
    assert profile.label_rate == pytest.approx(dataset.leads["label"].mean())
    (suggestion,) = profile.suggestions
    assert suggestion.startswith("rows look ordered: the label rate is ")
    assert "add `order_by: row`" in suggestion
    # Shuffled rows carry no trend; a date column is suggested instead.
    frame = telemarketing_frame(3000).sample(frac=1.0, random_state=1)
    frame["contacted"] = "2021-05-04"
    write_telemarketing_csv(tmp_path / "campaign.csv", frame=frame)
    dataset = load_dataset(_config(), tmp_path)
    profile = profile_dataset(dataset, read_table(dataset.config.leads, tmp_path, "leads"))
    assert [s.split(":")[0] for s in profile.suggestions] == ["leads.contacted looks like a date"]


def test_ordered_by_a_date_column_loads_the_dates(tmp_path: Path) -> None:
    stamps = list(np.datetime_as_string(np.datetime64("2021-01-01") + np.arange(40) // 4, unit="D"))
    config = _dated(tmp_path, stamps).model_copy(update={"order_by": "contacted"})
    dataset = load_dataset(config, tmp_path)
    assert dataset.leads["order_key"].dt.strftime("%Y-%m-%d").tolist() == stamps
    assert not any("ignored" in note and "contacted" in note for note in dataset.report.notes)


def test_a_number_that_counts_the_rows_is_suggested_and_orders_them(tmp_path: Path) -> None:
    from features.spec import FeatureParams
    from training.training_config import TrainingConfig
    from training.training_set import build_training_set

    frame = telemarketing_frame(1000).iloc[::-1].reset_index(drop=True)  # newest first
    frame.insert(0, "Contact Number", [str(900_000 - 7 * i) for i in range(1000)])
    write_telemarketing_csv(tmp_path / "campaign.csv", frame=frame)
    dataset = load_dataset(_config(exclude=["Contact Number"]), tmp_path)
    profile = profile_dataset(dataset, read_table(dataset.config.leads, tmp_path, "leads"))
    assert profile.suggestions[0] == (
        "leads.Contact Number counts down along the rows (rank correlation -1.00 with the "
        "row: the first rows are the latest): if it numbers leads as they come in, add "
        "`order_by: Contact Number` to validate out of time"
    )
    ordered = load_dataset(_config(exclude=["Contact Number"]).model_copy(
        update={"order_by": "Contact Number"}), tmp_path)  # fmt: skip
    assert ordered.leads["order_key"].dtype == "float64"
    split = build_training_set(ordered, FeatureParams(), TrainingConfig(), seed=0).split
    assert split.kind == "out of time (by Contact Number)"
    # The oldest leads (the file's last rows, the lowest numbers) train; the newest are held out.
    assert split.segments["train"]["lead_id"].iloc[0] == "row-1000"
    assert split.segments["holdout"]["lead_id"].iloc[-1] == "row-1"
