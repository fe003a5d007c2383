"""'What changed' on served scores: added where a previous explanation is known, never at the
cost of the scores themselves."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from models.reason_changes import explanation_of
from models.schema import ScoreChanges, ScoreDetail, ScoreOut
from serving.score_changes import seen_by_read, with_changes


def _explained(lead_id: str) -> ScoreOut:
    score = ScoreOut(
        lead_id=lead_id, as_of=datetime(2026, 3, 1, tzinfo=UTC), probability=0.3, score=60,
        tier="B", sales_ready=False, fit=50.0, engagement=20.0, reasons=[], model_version="3",
        base_probability=0.02,
    )  # fmt: skip
    score.attach_detail(ScoreDetail(impacts={"a": 1.0}, slope=8.0, events=2, values={}))
    return score


def test_changes_are_added_where_a_previous_score_is_known_and_never_withhold_scores() -> None:
    class Scorer:
        def describe_changes(self, score: ScoreOut, previous: Any) -> Any:
            return ScoreChanges(
                previous_as_of=previous.as_of,
                previous_probability=previous.probability,
                previous_model_version=previous.model_version,
                causes=[],
                reasons=[],
            )

    scores = [_explained("L1"), _explained("L2")]
    previous = explanation_of(scores[0])
    out = with_changes(Scorer(), scores, lambda ids: {"L1": previous})
    assert out[0].changes is not None and out[1].changes is None
    assert out[0].detail is not None  # the copy keeps what the log stores

    def broken(ids: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    assert with_changes(Scorer(), scores, broken) == scores
    assert with_changes(object(), scores, lambda ids: {"L1": previous}) == scores


def test_a_read_compares_with_the_stored_score_it_saw_not_a_rescoring_since() -> None:
    seen = explanation_of(_explained("L1"))
    assert seen is not None
    since = type(seen)(**{**seen.__dict__, "events": seen.events + 2})  # the rescorer's, newer
    record = {"lead_id": "L1", "score": {"explanation": seen.to_json()}}
    lookup = seen_by_read(record, lambda ids: {"L1": since})
    assert lookup(["L1"]) == {"L1": seen}  # the previous score is the one the read saw
    assert lookup(["L2"]) == {}
    # A lead without a stored explanation (never scored, or stored before explanations): the
    # usual lookup.
    assert seen_by_read({"lead_id": "L1", "score": None}, lambda ids: {"L1": since})(["L1"]) == {
        "L1": since
    }
