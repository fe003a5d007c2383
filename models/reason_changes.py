"""What changed since a lead's previous score: which reasons moved, and why the score moved.

The comparison is a pure function of two compact explanations (:class:`ScoredExplanation`),
so it works whatever keeps the previous one (the lead store keeps one with every score:
``store.score_records``); :func:`what_changed` compares two stored ones (alert payloads).
A compact explanation holds the log-odds impact of *every* reason group, not only the top ones
shown, because a reason can enter the top from nowhere ("Requested a demo today"), and the
lead's points per unit of log-odds (``models.probability_points``: a reason's points are its
impact times that slope), plus the moment, the model version and how many events were known:
group keys and numbers only, no attribute value, no event, no personal data. Storing it when
a score is served, rather than recomputing the previous score later, keeps what the
salesperson was shown, even after the model it came from is archived or the lead's history
is corrected.

A reason moved when its own contribution moved: moves are ranked by the change of the
group's log-odds impact. Ranking by points would list every reason of a lead whose
probability moved (a reason's points scale with the slope: "Seniority: director" goes from
+2.7 to +2.5 points when a pricing-page view lowers the lead's probability, though seniority
did not change). Before and after are shown in points. Why the score moved is told from the
two records: new events (more events known than last time), a new model version, and time
passing (older activity decays and leaves the windows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from features.reasons.human_numbers import format_plural, format_span, format_text
from models.schema import ChangeCause, ReasonChange, ScoreChanges

FORMAT = 1
MIN_IMPACT = 0.01  # log-odds: a reason whose own contribution moved less did not change
MIN_POINTS = 0.05  # moves smaller than this round to 0.0 points on the page: not shown
MAX_MOVES = 5

CauseKind = Literal["new_events", "new_model", "time_passed"]


@dataclass(frozen=True)
class ScoredExplanation:
    """A served score, compactly: enough to say later what changed (no personal data)."""

    as_of: datetime
    model_version: str
    probability: float
    base_probability: float
    impacts: Mapping[str, float]  # every reason group's log-odds impact
    slope: float  # probability points per unit of log-odds for this lead
    events: int  # events known at as_of
    horizon_days: int | None = None  # probability is the chance to buy within this many days

    def points(self, key: str) -> float:
        """The reason group's probability points (0 for a group this score did not have)."""
        return self.impacts.get(key, 0.0) * self.slope

    def to_json(self) -> str:
        """Compact JSON (impacts to 1e-5 log-odds)."""
        return json.dumps(
            {
                "format": FORMAT,
                "as_of": self.as_of.isoformat(),
                "model_version": self.model_version,
                "probability": self.probability,
                "base_probability": self.base_probability,
                "slope": self.slope,
                "events": self.events,
                "horizon_days": self.horizon_days,
                "impacts": {key: round(value, 5) for key, value in self.impacts.items()},
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ScoredExplanation:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"explanation format {data.get('format')!r} unsupported ({FORMAT})")
        return cls(
            as_of=datetime.fromisoformat(data["as_of"]),
            model_version=str(data["model_version"]),
            probability=float(data["probability"]),
            base_probability=float(data["base_probability"]),
            impacts={str(k): float(v) for k, v in data["impacts"].items()},
            slope=float(data["slope"]),
            events=int(data["events"]),
            horizon_days=data.get("horizon_days"),
        )


@dataclass(frozen=True)
class ReasonMove:
    """One reason group's points before and after."""

    key: str
    before: float
    after: float


@dataclass(frozen=True)
class Cause:
    """One reason why the score moved, in words."""

    kind: CauseKind
    text: str


@dataclass(frozen=True)
class ScoreMovement:
    """The reasons that moved most (largest change first) and why the score moved."""

    moves: list[ReasonMove]
    causes: list[Cause]


def compare_explanations(
    previous: ScoredExplanation,
    current: ScoredExplanation,
    *,
    limit: int = MAX_MOVES,
) -> ScoreMovement:
    """The ``limit`` reason groups whose own log-odds impact moved most (by at least
    :data:`MIN_IMPACT`, and by at least :data:`MIN_POINTS` points), and the causes: new
    events, a new model version, time passing."""
    keys = list(dict.fromkeys([*current.impacts, *previous.impacts]))
    ranked = []
    for key in keys:
        moved = abs(current.impacts.get(key, 0.0) - previous.impacts.get(key, 0.0))
        move = ReasonMove(key, previous.points(key), current.points(key))
        if moved >= MIN_IMPACT and abs(move.after - move.before) >= MIN_POINTS:
            ranked.append((moved, move))
    ranked.sort(key=lambda pair: -pair[0])  # stable: ties keep the spec order
    return ScoreMovement([move for _, move in ranked[:limit]], _causes(previous, current))


def what_changed(previous_explanation: str, current_explanation: str) -> dict[str, Any]:
    """What changed between two stored compact explanations (the ``explanation`` JSON text
    that score history and current scores keep), as JSON-ready data for an alert payload.

    Pure: no model is needed, so it also works after the model that scored ``previous`` is
    archived. Returns ``{"previous_as_of", "previous_probability", "previous_model_version",
    "probability", "model_version", "causes": [{"kind", "text"}], "reasons": [{"feature",
    "points_before", "points_after"}]}``: the reason groups whose own impact moved most
    (largest first, as :func:`compare_explanations` ranks them; ``feature`` is the reason
    group key of ``POST /score``'s reasons) and why the score moved. The worded version (each
    reason's label and sentence as it reads now) is the ``changes`` a score was served with,
    kept with the current score; it needs the model's reason groups.
    """
    previous = ScoredExplanation.from_json(previous_explanation)
    current = ScoredExplanation.from_json(current_explanation)
    movement = compare_explanations(previous, current)
    return {
        "previous_as_of": previous.as_of.isoformat(),
        "previous_probability": previous.probability,
        "previous_model_version": previous.model_version,
        "probability": current.probability,
        "model_version": current.model_version,
        "causes": [{"kind": cause.kind, "text": cause.text} for cause in movement.causes],
        "reasons": [
            {
                "feature": move.key,
                "points_before": round(move.before, 4),
                "points_after": round(move.after, 4),
            }
            for move in movement.moves
        ],
    }


def _causes(previous: ScoredExplanation, current: ScoredExplanation) -> list[Cause]:
    causes = []
    new_events = current.events - previous.events
    if new_events > 0:
        causes.append(
            Cause("new_events", f"{format_plural(new_events, 'new event')} since the last score")
        )
    if current.model_version != previous.model_version:
        causes.append(
            Cause(
                "new_model",
                f"A new model version (v{current.model_version}, was "
                f"v{previous.model_version}) weighs the facts differently",
            )
        )
    days = (current.as_of - previous.as_of).total_seconds() / 86_400
    if days >= 1:
        causes.append(
            Cause(
                "time_passed",
                f"{format_span(days)} passed since the last score: older activity counts "
                "less and leaves the recent windows",
            )
        )
    elif days > 0:
        causes.append(Cause("time_passed", "Less than a day passed since the last score"))
    elif days < 0:
        causes.append(
            Cause(
                "time_passed",
                f"Scored as of {format_span(-days)} before the last score's moment",
            )
        )
    return causes


def explanation_of(score: Any) -> ScoredExplanation | None:
    """The compact explanation of a served ``ScoreOut`` (None when the model that scored it
    gives no per-group points, e.g. a stand-in model)."""
    detail = getattr(score, "detail", None)
    if detail is None or score.base_probability is None:
        return None
    return ScoredExplanation(
        as_of=score.as_of,
        model_version=score.model_version,
        probability=score.probability,
        base_probability=score.base_probability,
        impacts=detail.impacts,
        slope=detail.slope,
        events=detail.events,
        horizon_days=score.horizon_days,
    )


def describe_changes(grouping: Any, score: Any, previous: ScoredExplanation) -> ScoreChanges | None:
    """The ``changes`` of a freshly served ``score`` against its ``previous`` explanation:
    the moved reasons worded as they read now (``grouping`` is the model's
    ``models.grouped_reasons.ReasonGrouping``), and the causes."""
    current = explanation_of(score)
    if current is None:
        return None
    movement = compare_explanations(previous, current)
    position = {key: j for j, key in enumerate(grouping.keys)}
    reasons = []
    for move in movement.moves:
        j = position.get(move.key)
        if j is None:  # a reason of the previous model only: no sentence to say it with now
            label = sentence = format_text(move.key).capitalize()
        else:
            label = grouping.labels[j]
            sentence = grouping.sentences[j].sentence(score.detail.values)
        reasons.append(
            ReasonChange(
                feature=move.key,
                label=label,
                sentence=sentence,
                points_before=round(move.before, 4),
                points_after=round(move.after, 4),
            )
        )
    return ScoreChanges(
        previous_as_of=previous.as_of,
        previous_probability=previous.probability,
        previous_model_version=previous.model_version,
        causes=[ChangeCause(kind=cause.kind, text=cause.text) for cause in movement.causes],
        reasons=reasons,
    )
