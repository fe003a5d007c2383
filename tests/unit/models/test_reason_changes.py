"""What changed since the previous score: a pure comparison of two compact explanations, and
the model wording it for a lead that requested a demo since."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from models.reason_changes import (
    ScoredExplanation,
    compare_explanations,
    explanation_of,
    what_changed,
)
from models.schema import EventIn, LeadIn
from training.tracking import example_leads

pytestmark = pytest.mark.xdist_group("simulated_model")

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def explanation(
    impacts: dict[str, float],
    *,
    slope: float = 10.0,
    days: float = 0,
    version: str = "3",
    events: int = 10,
) -> ScoredExplanation:
    probability = 0.02 + slope * sum(impacts.values()) / 100
    return ScoredExplanation(
        T0 + timedelta(days=days), version, probability, 0.02, impacts, slope, events
    )


def test_moves_are_the_reasons_whose_own_impact_moved_most() -> None:
    before = explanation(
        {"demo_request": 0.0, "industry": 0.1, "web_visit": 0.05, "email_open": 0.03, "x": 0.2}
    )
    after = explanation(
        {"demo_request": 0.6, "industry": 0.102, "web_visit": -0.05, "tenure": 0.02, "x": 0.2},
        slope=12.0,
        days=3,
        events=12,
    )
    movement = compare_explanations(before, after)
    assert [(m.key, m.before, round(m.after, 6)) for m in movement.moves] == [
        ("demo_request", 0.0, 7.2),
        ("web_visit", 0.5, -0.6),
        ("email_open", 0.3, 0.0),  # gone from the reasons: it moved to nothing
        ("tenure", 0.0, 0.24),
    ]
    # "x" kept its impact: its points grew with the slope (2.0 -> 2.4), but it did not move;
    # "industry" moved 0.002 log-odds: not a change.
    assert [(c.kind, c.text) for c in movement.causes] == [
        ("new_events", "2 new events since the last score"),
        ("time_passed",
         "3 days passed since the last score: older activity counts less and leaves the recent "
         "windows"),
    ]  # fmt: skip
    assert len(compare_explanations(before, after, limit=2).moves) == 2


def test_what_changed_compares_two_stored_explanations_without_a_model() -> None:
    """What an alert payload carries: the stored JSON texts in, JSON-ready data out."""
    before = explanation({"demo_request": 0.0, "industry": 0.1}, version="3")
    after = explanation({"demo_request": 0.5, "industry": 0.1}, days=2, version="4", events=11)
    changed = what_changed(before.to_json(), after.to_json())
    assert json.loads(json.dumps(changed)) == changed  # JSON-ready as it is
    assert changed["previous_as_of"] == "2026-03-01T00:00:00+00:00"
    assert (changed["previous_model_version"], changed["model_version"]) == ("3", "4")
    assert changed["previous_probability"] == pytest.approx(0.03)
    assert changed["probability"] == pytest.approx(0.08)
    assert changed["reasons"] == [
        {"feature": "demo_request", "points_before": 0.0, "points_after": 5.0}
    ]
    assert [c["kind"] for c in changed["causes"]] == ["new_events", "new_model", "time_passed"]
    assert what_changed(after.to_json(), after.to_json())["reasons"] == []


def test_a_new_model_and_an_earlier_moment_are_causes_too() -> None:
    before = explanation({"industry": 1.0}, version="3")
    after = explanation({"industry": 2.0}, version="4", days=-2)
    causes = compare_explanations(before, after).causes
    assert [c.kind for c in causes] == ["new_model", "time_passed"]
    assert causes[0].text.startswith("A new model version (v4, was v3)")
    assert causes[1].text == "Scored as of 2 days before the last score's moment"
    same = compare_explanations(before, before)
    assert same.moves == [] and same.causes == []


def test_the_compact_explanation_round_trips_and_holds_no_personal_data() -> None:
    record = explanation({"demo_request": 0.6123456, "industry": -0.1}, events=4)
    text = record.to_json()
    again = ScoredExplanation.from_json(text)
    assert again.impacts == {"demo_request": 0.61235, "industry": -0.1}
    assert again.points("demo_request") == pytest.approx(6.1235)
    assert (again.as_of, again.events, again.model_version) == (record.as_of, 4, "3")
    assert set(json.loads(text)) == {
        "format", "as_of", "model_version", "probability", "base_probability", "slope", "events",
        "horizon_days", "impacts",
    }  # fmt: skip
    with pytest.raises(ValueError, match="explanation format 9 unsupported"):
        ScoredExplanation.from_json(text.replace('"format":1', '"format":9'))


def test_a_demo_request_since_the_last_score_is_what_changed(simulated) -> None:
    dataset, result = simulated
    model = result.model
    lead = example_leads(dataset, result.holdout, n=1)[0]
    later = lead.as_of + timedelta(days=2)
    rescored = LeadIn.model_validate(
        {
            **lead.model_dump(),
            "as_of": later,
            "events": [
                *lead.model_dump()["events"],
                EventIn(event_type="demo_request", occurred_at=later - timedelta(hours=3)),
            ],
        }
    )
    first, second = model.score_leads([lead, rescored], 5)
    previous, current = explanation_of(first), explanation_of(second)
    assert previous is not None and current is not None
    assert set(current.impacts) == set(model.grouping.keys)  # every group, not only the top
    assert current.events == previous.events + 1
    changes = model.describe_changes(second, ScoredExplanation.from_json(previous.to_json()))
    assert changes is not None
    assert changes.previous_probability == first.probability
    assert [c.kind for c in changes.causes] == ["new_events", "time_passed"]
    demo = next(r for r in changes.reasons if r.feature == "demo_request")
    assert demo.sentence == "Requested a demo today"
    assert demo.points_after > demo.points_before
    # All groups' moves add up to the change of (probability - base): nothing is lost.
    keys = model.grouping.keys
    total = sum(current.points(k) for k in keys) - sum(previous.points(k) for k in keys)
    assert total == pytest.approx(
        100
        * (
            (second.probability - second.base_probability)
            - (first.probability - first.base_probability)
        ),
        abs=1e-9,
    )
