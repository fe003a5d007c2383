"""Values the engines cannot represent are refused where they enter, naming the field."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pydantic import ValidationError

from features.ingest.contracts import Problem
from features.ingest.dataset_config import TableSource
from features.ingest.parsing import parse_numbers, parse_timestamps
from models.schema import LeadIn
from serving.limits import describe_errors
from serving.schemas import ScoreRequest


def _errors(body: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        ScoreRequest.model_validate_json(body)
    return describe_errors(caught.value.errors(include_input=False))


@pytest.mark.parametrize(
    ("lead", "field", "says"),
    [
        ({"as_of": "9999-12-31T00:00:00Z"}, "leads[1].as_of", "CRM 'never'"),
        ({"as_of": "0001-01-01T00:00:00Z"}, "leads[1].as_of", "outside the supported range"),
        # Year 1 ahead of UTC (and 9999 behind it) cannot even be converted to UTC.
        ({"as_of": "0001-01-01T00:00:00+00:01"}, "leads[1].as_of", "outside the supported"),
        ({"as_of": "9999-12-31T23:59:59-14:00"}, "leads[1].as_of", "CRM 'never'"),
        ({"created_at": "2262-04-12T00:00:00+00:00"}, "leads[1].created_at", "outside"),
        ({"created_at": "1899-12-31T23:00:00-02:00"}, None, None),  # 1900-01-01T01:00Z: fine
        (
            {"events": [{"event_type": "web_visit", "occurred_at": "9999-01-01T00:00:00Z"}]},
            "leads[1].events[0].occurred_at",
            "leave the field empty",
        ),
        (
            {"outcomes": [{"closed_at": "9999-12-31T00:00:00Z", "won": False}]},
            "leads[1].outcomes[0].closed_at",
            "CRM 'never'",
        ),
    ],
)
def test_times_outside_the_engines_range_name_the_field(
    lead: dict, field: str | None, says: str | None
) -> None:
    body = json.dumps({"leads": [{"lead_id": "a"}, {"lead_id": "b", **lead}]})
    if field is None:
        ScoreRequest.model_validate_json(body)
        return
    errors = _errors(body)
    assert len(errors) == 1 and errors[0].startswith(f"{field}: "), errors
    assert says in errors[0]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        ("NaN", "finite"),
        ("1" + "0" * 400, "too large"),
        ("1e400", "finite"),
    ],
)
def test_numbers_the_model_cannot_represent_are_refused(raw: str, says: str) -> None:
    body = '{"leads": [{"lead_id": "a", "attributes": {"annual_revenue": RAW}}]}'.replace(
        "RAW", raw
    )
    errors = _errors(body)
    assert errors[0].startswith("leads[0].attributes.annual_revenue"), errors
    assert says in " ".join(errors)


def test_ordinary_values_still_pass() -> None:
    lead = LeadIn.model_validate(
        {
            "lead_id": "a",
            "as_of": "2262-04-09T00:00:00Z",
            "created_at": "1900-01-01T00:00:00Z",
            "attributes": {"n": 10**300, "x": -1.5e308, "flag": True, "s": "Infinity"},
        }
    )
    assert lead.attributes["n"] == 10**300 and lead.attributes["s"] == "Infinity"
    assert lead.attributes["flag"] is True


def test_loaders_report_out_of_range_times_and_infinities_with_counts_and_examples() -> None:
    problems: list[Problem] = []
    source = TableSource(path="leads.csv")
    times = pd.Series(["2024-01-01T00:00:00Z", "9999-12-31T00:00:00Z", "0001-01-01", None])
    parsed = parse_timestamps(times, source, "leads", "created_at", problems, allow_missing=True)
    assert str(parsed.dtype) == "datetime64[ns, UTC]"
    assert parsed.notna().tolist() == [True, False, False, False]
    [problem] = problems
    assert (problem.table, problem.column, problem.count) == ("leads", "created_at", 2)
    # The loaders' own range and "never" option (features.ingest.parsing, from #33).
    assert "date out of range (supported: 1677-09-22 .. 2262-04-11" in problem.message
    assert "out_of_range_dates: never" in problem.message
    assert problem.examples == ("9999-12-31T00:00:00Z", "0001-01-01")

    problems.clear()
    wide = pd.Series(pd.to_datetime(["2020-01-01", "9999-01-01"]).as_unit("us").tz_localize("UTC"))
    parse_timestamps(wide, source, "events", "occurred_at", problems)
    assert [(p.column, p.count) for p in problems] == [("occurred_at", 1)]

    problems.clear()
    numbers = parse_numbers(pd.Series(["1", "inf", "1e400", "x"]), "leads", "revenue", problems)
    assert numbers.isna().tolist() == [False, True, True, True]
    assert sorted((p.message.split(" (")[0], p.count) for p in problems) == [
        ("not a finite number", 2),
        ("not a number", 1),
    ]
