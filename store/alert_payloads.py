"""The JSON bodies of alerts, as subscribers receive them (Standard Webhooks' shape: ``type``,
``timestamp``, ``data``, plus the event ``id`` that ``webhook-id`` also carries).

A lead alert says who (lead and account ids: no attribute, no personal data), the previous and
current score, tier and probability, the top reasons, what changed (the reasons whose impact
moved most since the previous score, and why the score was recomputed), the model version and
a link to the lead on the sales page.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from store.alert_rules import AlertPolicy
from store.records import from_micros
from store.score_records import ScoreChange

MIN_MOVE = 0.01  # log-odds: a reason whose impact moved less did not change
MAX_MOVES = 5

_CAUSES = {
    "change": ("lead_changed", "The lead changed (new events, attributes or deals)"),
    "model": ("new_model", "A new model version scored the lead"),
    "refresh": ("time_passed", "Time passed: older activity counts less"),
    "batch": ("rescored", "Rescored by a batch run"),
}


def new_event_id() -> str:
    """A unique event id (``webhook-id``): receivers de-duplicate deliveries by it."""
    return f"evt_{uuid.uuid4().hex}"


def iso(micros: int | None) -> str | None:
    return None if micros is None else from_micros(micros).isoformat().replace("+00:00", "Z")


def _score_part(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "score": fields["score"],
        "tier": fields["tier"],
        "probability": fields["probability"],
        "sales_ready": bool(fields["sales_ready"]),
        "model_version": fields["model_version"],
        "as_of": iso(fields["as_of"]),
    }


def what_changed(previous: dict[str, Any] | None, change: ScoreChange) -> dict[str, Any] | None:
    """What changed since the previous score: the model's own account when the score carries
    one (``changes``: the reasons whose points moved, before and after, and why; see
    ``models.reason_changes``), else the reasons whose impact moved most between the previous
    and the current top reasons (a reason outside one of them has ``null`` there)."""
    if previous is None:
        return None
    current = change.current
    delta = {"score_delta": current.score - previous["score"]}
    if current.changes is not None:
        return dict(current.changes) | delta
    before = {reason["feature"]: reason for reason in previous.get("reasons") or []}
    after = {reason["feature"]: reason for reason in current.reasons}
    moves = []
    for key in dict.fromkeys([*after, *before]):
        old, new = before.get(key), after.get(key)
        moved = (new or {}).get("impact", 0.0) - (old or {}).get("impact", 0.0)
        if abs(moved) < MIN_MOVE:
            continue
        shown = new or old
        assert shown is not None
        move = {
            "feature": key,
            "label": shown.get("label", key),
            "sentence": shown.get("sentence"),
            "impact_before": None if old is None else old.get("impact"),
            "impact_after": None if new is None else new.get("impact"),
        }
        if "points" in shown:
            move["points_before"] = None if old is None else old.get("points")
            move["points_after"] = None if new is None else new.get("points")
        moves.append((abs(moved), move))
    moves.sort(key=lambda pair: -pair[0])
    kind, text = _CAUSES.get(current.cause, ("rescored", "Rescored"))
    causes = [{"kind": kind, "text": text}]
    if kind != "new_model" and current.model_version != previous["model_version"]:
        causes.append(_dict(_CAUSES["model"]))
    return {
        "previous_as_of": iso(previous["as_of"]),
        "previous_probability": previous["probability"],
        "previous_model_version": previous["model_version"],
        **delta,
        "causes": causes,
        "reasons": [move for _, move in moves[:MAX_MOVES]],
    }


def _dict(pair: tuple[str, str]) -> dict[str, str]:
    return {"kind": pair[0], "text": pair[1]}


def lead_payload(
    event_id: str,
    event_type: str,
    change: ScoreChange,
    account_id: str | None,
    policy: AlertPolicy,
) -> dict[str, Any]:
    """The body of a ``lead.*`` alert."""
    current = change.current
    previous = change.previous
    return {
        "id": event_id,
        "type": event_type,
        "timestamp": iso(current.scored_at),
        "data": {
            "lead_id": change.lead_id,
            "account_id": account_id,
            "previous": None if previous is None else _score_part(previous),
            "current": _score_part(current.current_row()),
            "reasons": current.reasons,
            "changes": what_changed(previous, change),
            "model_version": current.model_version,
            "url": policy.lead_link(change.lead_id),
        },
    }


def model_payload(
    event_id: str, event_type: str, row: dict[str, Any], finished_at: int
) -> dict[str, Any]:
    """The body of ``model.promoted`` / ``model.rolled_back``: the versions and a summary of
    what the rescoring moved (instead of one alert per lead)."""
    return {
        "id": event_id,
        "type": event_type,
        "timestamp": iso(finished_at),
        "data": {
            "model_version": row["model_version"],
            "previous_version": row["previous_version"],
            "rescoring_started_at": iso(row["started_at"]),
            "rescoring_finished_at": iso(finished_at),
            "leads_rescored": int(row["rescored"]),
            "alerts_summarised": dict(sorted((row["tallies"] or {}).items())),
        },
    }


def test_payload(event_id: str, subscription_id: str, at: int) -> dict[str, Any]:
    """The body of ``POST /webhooks/{id}/test``."""
    return {
        "id": event_id,
        "type": "webhook.test",
        "timestamp": iso(at),
        "data": {"subscription_id": subscription_id, "message": "leadscore test delivery"},
    }


def dumps(payload: dict[str, Any]) -> str:
    """The exact text that is stored, signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
