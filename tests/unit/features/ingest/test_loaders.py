"""Loaders: each class of bad input is rejected with a message naming table, column, count and
examples; orphans are dropped and counted; tables round-trip CSV <-> Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.ingest.contracts import DataValidationError
from features.ingest.dataset_config import DatasetConfig, load_config
from features.ingest.loaders import load_dataset

LEADS = "lead_id,created_at,account,industry,employees,opted_in\n" + "\n".join(
    [
        "L1,2024-01-01T10:00:00Z,A1,software,120,yes",
        "L2,2024-01-05T08:30:00+02:00,A1,retail,15,no",
        "L3,2024-02-01 09:00:00,A2,Select,,",
    ]
)
EVENTS = "lead_id,ts,type\n" + "\n".join(
    [
        "L1,2024-01-02T00:00:00Z,Email Opened",
        "L1,2024-01-03T00:00:00Z,pricing_page_view",
        "L2,2024-01-06T00:00:00Z,web_visit",
    ]
)
OUTCOMES = "lead_id,closed,won,amount\nL1,2024-03-01T00:00:00Z,Closed Won,1200\nL2,2024-03-02T00:00:00Z,lost,\n"


def _config(**overrides: object) -> DatasetConfig:
    raw: dict = {
        "name": "t",
        "leads": {
            "path": "leads.csv",
            "columns": {"lead_id": "lead_id", "created_at": "created_at", "account_id": "account"},
            "attributes": {
                "industry": "categorical",
                "employees": "numeric",
                "opted_in": "boolean",
            },
            "missing_values": ["Select"],
        },
        "events": {
            "path": "events.csv",
            "columns": {"occurred_at": "ts", "event_type": "type"},
            "event_type_map": {"Email Opened": "email_open"},
        },
        "outcomes": {"path": "outcomes.csv", "columns": {"closed_at": "closed"}},
    }
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            raw[section] = {**raw[section], field: value}
        else:
            raw[section] = value
    return DatasetConfig.model_validate(raw)


def _write(tmp: Path, leads: str = LEADS, events: str = EVENTS, outcomes: str = OUTCOMES) -> Path:
    (tmp / "leads.csv").write_text(leads)
    (tmp / "events.csv").write_text(events)
    (tmp / "outcomes.csv").write_text(outcomes)
    return tmp


def _problems(exc: pytest.ExceptionInfo[DataValidationError]) -> list[str]:
    return [str(problem) for problem in exc.value.problems]


def test_valid_tables_become_canonical(tmp_path: Path) -> None:
    ds = load_dataset(_config(), _write(tmp_path))
    assert list(ds.leads.columns) == [
        "lead_id",
        "created_at",
        "account_id",
        "industry",
        "employees",
        "opted_in",
    ]
    assert str(ds.leads["created_at"].dtype) == "datetime64[ns, UTC]"
    # +02:00 is converted, a naive time is read in the config's zone (UTC).
    assert ds.leads.loc[1, "created_at"] == pd.Timestamp("2024-01-05T06:30:00Z")
    assert ds.leads.loc[2, "created_at"] == pd.Timestamp("2024-02-01T09:00:00Z")
    assert pd.isna(ds.leads.loc[2, "industry"])  # "Select" means not answered
    assert ds.leads["employees"].tolist()[:2] == [120.0, 15.0]
    assert ds.leads["opted_in"].tolist()[:2] == [1.0, 0.0] and pd.isna(ds.leads.loc[2, "opted_in"])
    assert ds.events["event_type"].tolist() == ["email_open", "pricing_page_view", "web_visit"]
    assert ds.outcomes["won"].tolist() == [True, False]
    assert ds.outcomes["amount"].tolist()[0] == 1200.0
    assert ds.report.rows_kept == {"leads": 3, "events": 3, "outcomes": 2}
    assert ds.report.dropped == []


def test_event_types_are_categorical_with_one_category_per_canonical_name(tmp_path: Path) -> None:
    # "Web Visit" and "web_visit" are one type once snake_cased, "Email Opened" is mapped to
    # email_open: the events keep their order and every category is a canonical name.
    events = EVENTS + "\nL2,2024-01-07T00:00:00Z,Web Visit\nL3,2024-02-02T00:00:00Z,email_open"
    types = load_dataset(_config(), _write(tmp_path, events=events)).events["event_type"]
    assert isinstance(types.dtype, pd.CategoricalDtype)
    assert types.tolist() == [
        "email_open", "pricing_page_view", "web_visit", "web_visit", "email_open"
    ]  # fmt: skip
    assert sorted(types.cat.categories) == ["email_open", "pricing_page_view", "web_visit"]
    assert str(types.cat.categories.dtype) == "str"


@pytest.mark.parametrize(
    ("table", "text", "expected"),
    [
        ("leads", LEADS.replace("lead_id,", "id,", 1), "leads.lead_id: missing column"),
        (
            "leads",
            LEADS.replace("L2,", "L1,"),
            "leads.lead_id: duplicate lead ids: 2 row(s) (e.g. 'L1')",
        ),
        ("leads", LEADS.replace("L3,", ","), "leads.lead_id: empty id: 1 row(s) (e.g. 'row 2')"),
        (
            "leads",
            LEADS.replace("2024-02-01 09:00:00", "yesterday"),
            "leads.created_at: unparsable timestamp (expected ISO 8601): 1 row(s) (e.g. 'yesterday')",
        ),
        (
            "leads",
            LEADS.replace(",120,", ",about 100,"),
            "leads.employees: not a number: 1 row(s) (e.g. 'about 100')",
        ),
        (
            "leads",
            LEADS.replace(",yes", ",maybe"),
            "leads.opted_in: not a yes/no value: 1 row(s) (e.g. 'maybe')",
        ),
        (
            "events",
            EVENTS.replace("2024-01-03T00:00:00Z", "03/01/2024 25:00"),
            "events.ts: unparsable timestamp",
        ),
        ("events", EVENTS.replace(",web_visit", ","), "events.type: missing event type: 1 row(s)"),
        (
            "events",
            EVENTS.replace("L1,2024-01-02T00:00:00Z", "L1,"),
            "events.ts: missing timestamp",
        ),
        (
            "outcomes",
            OUTCOMES.replace("1200", "lots"),
            "outcomes.amount: not a number: 1 row(s) (e.g. 'lots')",
        ),
        (
            "outcomes",
            OUTCOMES.replace("closed,", "closed_date,", 1),
            "outcomes.closed: missing column",
        ),
        (
            "outcomes",
            OUTCOMES.replace(",lost,", ",pending,"),
            "outcomes.won: not a yes/no value: 1 row(s) (e.g. 'pending')",
        ),
        (
            "events",
            "lead_id,ts,type\nL1,2024-01-02T00:00:00Z,\n",
            "events.type: missing event type: 1 row(s)",
        ),
    ],
)
def test_broken_contracts_are_rejected_with_names_counts_examples(
    tmp_path: Path, table: str, text: str, expected: str
) -> None:
    tables = {"leads": LEADS, "events": EVENTS, "outcomes": OUTCOMES, table: text}
    with pytest.raises(DataValidationError) as exc:
        load_dataset(_config(), _write(tmp_path, **tables))
    assert any(expected in problem for problem in _problems(exc)), _problems(exc)


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    leads = LEADS.replace("L2,", "L1,").replace(",120,", ",many,")
    events = EVENTS.replace("2024-01-03T00:00:00Z", "never")
    with pytest.raises(DataValidationError) as exc:
        load_dataset(_config(), _write(tmp_path, leads=leads, events=events))
    columns = {(p.table, p.column) for p in exc.value.problems}
    assert {("leads", "lead_id"), ("leads", "employees"), ("events", "ts")} <= columns
    assert "3 data problem(s) found" in str(exc.value)


def test_orphans_are_dropped_and_counted(tmp_path: Path) -> None:
    events = EVENTS + "\nL9,2024-01-06T00:00:00Z,web_visit\nL9,2024-01-07T00:00:00Z,web_visit"
    outcomes = OUTCOMES + "L8,2024-03-01T00:00:00Z,won,5\nL3,2023-12-01T00:00:00Z,won,7\n"
    ds = load_dataset(_config(), _write(tmp_path, events=events, outcomes=outcomes))
    dropped = {str(problem) for problem in ds.report.dropped}
    assert "events.lead_id: events for unknown leads: 2 row(s) (e.g. 'L9')" in dropped
    assert "outcomes.lead_id: outcomes for unknown leads: 1 row(s) (e.g. 'L8')" in dropped
    assert "outcomes.closed_at: closed before the lead was created: 1 row(s) (e.g. 'L3')" in dropped
    assert ds.report.rows_read == {"leads": 3, "events": 5, "outcomes": 4}
    assert ds.report.rows_kept == {"leads": 3, "events": 3, "outcomes": 2}


def test_strict_mode_turns_orphans_into_errors(tmp_path: Path) -> None:
    events = EVENTS + "\nL9,2024-01-06T00:00:00Z,web_visit"
    with pytest.raises(DataValidationError, match="events for unknown leads: 1 row"):
        load_dataset(_config(), _write(tmp_path, events=events), strict=True)


def test_undeclared_columns_are_reported_not_silently_ignored(tmp_path: Path) -> None:
    leads = LEADS.replace("opted_in\n", "opted_in,notes\n", 1)
    leads = "\n".join(line + ",x" if i else line for i, line in enumerate(leads.splitlines()))
    ds = load_dataset(_config(), _write(tmp_path, leads=leads))
    assert any("ignored: ['notes']" in note for note in ds.report.notes)


def test_parquet_round_trip_gives_identical_tables(tmp_path: Path) -> None:
    from_csv = load_dataset(_config(), _write(tmp_path))
    from_csv.leads.rename(columns={"account_id": "account"}).to_parquet(tmp_path / "leads.parquet")
    from_csv.events.rename(columns={"occurred_at": "ts", "event_type": "type"}).to_parquet(
        tmp_path / "events.parquet"
    )
    from_csv.outcomes.rename(columns={"closed_at": "closed"}).to_parquet(
        tmp_path / "outcomes.parquet"
    )
    config = _config(
        leads__path="leads.parquet",
        events__path="events.parquet",
        outcomes__path="outcomes.parquet",
    )
    from_parquet = load_dataset(config, tmp_path)
    pd.testing.assert_frame_equal(from_parquet.leads, from_csv.leads)
    pd.testing.assert_frame_equal(from_parquet.events, from_csv.events)
    pd.testing.assert_frame_equal(from_parquet.outcomes, from_csv.outcomes)


def test_parquet_event_types_as_plain_text_load_like_csv(tmp_path: Path) -> None:
    """Event types stored as plain strings (the loader reads them as a dictionary) are
    renamed and merged as from CSV; a missing one is still reported with its lead."""
    events = EVENTS + "\nL2,2024-01-07T00:00:00Z,Web Visit\nL3,2024-02-02T00:00:00Z,Email Opened"
    from_csv = load_dataset(_config(), _write(tmp_path, events=events))
    raw = pd.read_csv(tmp_path / "events.csv", dtype="str")
    raw.to_parquet(tmp_path / "events.parquet")
    assert pq.read_schema(tmp_path / "events.parquet").field("type").type in (
        pa.string(), pa.large_string()
    )  # fmt: skip
    config = _config(events__path="events.parquet")
    pd.testing.assert_frame_equal(load_dataset(config, tmp_path).events, from_csv.events)
    raw.loc[3, "type"] = None
    raw.to_parquet(tmp_path / "events.parquet")
    with pytest.raises(DataValidationError) as exc:
        load_dataset(config, tmp_path)
    assert _problems(exc) == ["events.type: missing event type: 1 row(s) (e.g. 'L2')"]


def test_static_mode_parses_label_and_has_no_time_tables(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("id,Converted,Lead Source\na,1,Google\nb,0,Select\nc,1,\n")
    config = DatasetConfig.model_validate(
        {
            "name": "s",
            "mode": "static",
            "leads": {
                "path": "x.csv",
                "columns": {"lead_id": "id", "label": "Converted"},
                "attributes": {"Lead Source": "categorical"},
                "missing_values": ["Select"],
            },
        }
    )
    ds = load_dataset(config, tmp_path)
    assert ds.leads["label"].tolist() == [1, 0, 1]
    assert ds.attribute_names == ["lead_source"]
    assert ds.attributes[0].label == "Lead Source"
    assert ds.leads["lead_source"].isna().tolist() == [False, True, True]
    assert ds.events.empty and ds.outcomes.empty


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"mode": "static"}, "static mode needs leads.columns.label"),
        ({"outcomes": None}, "temporal mode needs an outcomes table"),
        ({"leads": {"path": "l.csv", "columns": {"created_at": "c"}}}, "must map 'lead_id'"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_configs_explain_themselves(patch: dict, message: str) -> None:
    raw = {
        "name": "t",
        "leads": {"path": "l.csv", "columns": {"lead_id": "id", "created_at": "c"}},
        "outcomes": {"path": "o.csv"},
        **patch,
    }
    with pytest.raises(ValueError, match=message):
        DatasetConfig.model_validate(raw)


def test_shipped_configs_load_and_unknown_names_list_them() -> None:
    assert load_config("olist").snapshots.grid == "at_creation"
    assert "Tags" in load_config("xeducation").leads.attributes
    with pytest.raises(FileNotFoundError, match="shipped: demo, olist, xeducation"):
        load_config("nope")


def test_missing_file_names_the_table(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"leads: file not found: leads\.csv"):
        load_dataset(_config(), tmp_path)


def test_deals_without_close_date_are_open_opportunities(tmp_path: Path) -> None:
    """A row with an open date and no close date is a deal still open at export: it goes to
    ``open_deals`` (its won/amount cells are not read); a row with neither date is an error
    naming the column and row; an open row that also appears closed is that deal, closed."""
    outcomes = (
        "lead_id,opened_at,closed,won,amount\n"
        "L1,2024-02-01T00:00:00Z,2024-03-01T00:00:00Z,Closed Won,1200\n"
        "L2,2024-02-10T00:00:00Z,,,\n"
        "L3,2024-02-20T00:00:00Z,,pending,\n"
        "L1,2024-02-01T00:00:00Z,,,\n"
        "L404,2024-02-15T00:00:00Z,,,\n"
    )
    ds = load_dataset(_config(), _write(tmp_path, outcomes=outcomes))
    dropped = [str(problem) for problem in ds.report.dropped]
    assert "outcomes.lead_id: open deals for unknown leads: 1 row(s) (e.g. 'L404')" in dropped
    assert ds.outcomes["lead_id"].tolist() == ["L1"] and ds.outcomes["won"].tolist() == [True]
    assert ds.open_deals["lead_id"].tolist() == ["L2", "L3"]
    assert ds.open_deals["opened_at"].iloc[0] == pd.Timestamp("2024-02-10", tz="UTC")
    assert ds.has_opportunity_dates
    assert any("1 open deal(s) superseded" in note for note in ds.report.notes)
    undated = "lead_id,opened_at,closed,won\nL1,,,yes\n"
    with pytest.raises(DataValidationError) as exc:
        load_dataset(_config(), _write(tmp_path, outcomes=undated))
    assert "outcomes.closed: missing timestamp (a deal still open needs its opened_at)" in str(
        exc.value
    )
