"""The JSON of ``GET /leads/{lead_id}``: the lead, its current score (the fields of
``POST /score``), its latest events, deals and score history, with ISO 8601 times."""

from __future__ import annotations

from typing import Any

from models.reason_changes import ScoredExplanation
from store.records import from_micros
from store.score_records import StoreScore


def iso(micros: int | None) -> str | None:
    return None if micros is None else from_micros(micros).isoformat()


def score_json(score: dict[str, Any] | StoreScore) -> dict[str, Any]:
    """A stored score as ``POST /score`` answers it (``changes`` included), plus when it was
    computed."""
    fields = score if isinstance(score, dict) else score.current_row()
    explanation = _explanation(fields.get("explanation"))
    return {
        "lead_id": fields["lead_id"],
        "as_of": iso(fields["as_of"]),
        "probability": fields["probability"],
        "score": fields["score"],
        "tier": fields["tier"],
        "sales_ready": bool(fields["sales_ready"]),
        "fit": fields["fit"],
        "engagement": fields["engagement"],
        "reasons": fields["reasons"],
        "model_version": fields["model_version"],
        # Where the reasons' points start, and the horizon of the probability (from the
        # score's compact explanation; None for scores stored without one).
        "base_probability": None if explanation is None else explanation.base_probability,
        "horizon_days": None if explanation is None else explanation.horizon_days,
        "scored_at": iso(fields["scored_at"]),
        # What changed since the lead's previous score, as computed when this one was.
        "changes": fields.get("changes"),
    }


def _explanation(text: str | None) -> ScoredExplanation | None:
    if text is None:
        return None
    try:
        return ScoredExplanation.from_json(text)
    except (ValueError, KeyError, TypeError):
        return None  # a format this code does not read: the score is shown without points


def history_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "lead_id": row["lead_id"],
        "as_of": iso(row["as_of"]),
        "scored_at": iso(row["scored_at"]),
        "model_version": row["model_version"],
        "probability": row["probability"],
        "score": row["score"],
        "tier": row["tier"],
        "cause": row["cause"],
    }


def lead_json(record: dict[str, Any], fresh: StoreScore | None) -> dict[str, Any]:
    """The response body; ``fresh`` is a score computed for this read (the stored one was
    older than the lead's last change) and leads the history until it is written."""
    history = [history_json(row) for row in record["history"]]
    score = record["score"]
    if fresh is not None:
        score = fresh
        history.insert(0, history_json(fresh.history_row()))
    return {
        "lead_id": record["lead_id"],
        "account_id": record["account_id"],
        "created_at": iso(record["created_at"]),
        "updated_at": iso(record["updated_at"]),
        "attributes": record["attributes"],
        "score": None if score is None else score_json(score),
        "events_total": record["events_total"],
        "events": [
            {
                "event_type": event["event_type"],
                "occurred_at": iso(event["occurred_at"]),
                "campaign": event["campaign"],
                "channel": event["channel"],
            }
            for event in record["events"]
        ],
        "deals": [
            {
                "deal_id": deal["deal_id"],
                "opened_at": iso(deal["opened_at"]),
                "closed_at": iso(deal["closed_at"]),
                "won": deal["won"],
                "amount": deal["amount"],
            }
            for deal in record["deals"]
        ],
        "history": history,
    }
