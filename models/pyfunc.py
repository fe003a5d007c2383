"""The MLflow pyfunc wrapper: the one deployable unit (``mlflow models serve``, ``load_model``,
Spark/Dask UDFs and the BentoML service all go through it).

Input: a DataFrame with one row per lead — ``lead_id``, ``as_of``, ``created_at`` (ISO-8601
strings with a zone, or empty), one column per model attribute, ``events`` (a JSON list of
``{"event_type", "occurred_at"}``), optional ``outcomes`` (JSON list of ``{"closed_at",
"won"}``) and ``account_engaged_colleagues_30d``. Output: one row per lead with the
``ScoreOut`` fields; ``reasons`` is a JSON string and ``as_of`` an ISO-8601 string.

The bundle travels as an artifact directory (``bundle.json`` + ``booster.txt``); the python
model itself holds no state until ``load_context``, so the pickle is tiny and version-proof.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from models.bundle import LeadScoreModel
from models.reason_changes import ScoredExplanation
from models.schema import LeadIn, ScoreChanges, ScoreOut

BUNDLE_ARTIFACT = "bundle"
OUTPUT_COLUMNS = [
    "lead_id", "as_of", "probability", "score", "tier", "sales_ready", "fit", "engagement",
    "reasons", "model_version", "base_probability", "horizon_days",
]  # fmt: skip
_CORE_COLUMNS = {
    "lead_id", "as_of", "created_at", "events", "outcomes", "account_engaged_colleagues_30d",
}  # fmt: skip


class LeadScorePyfunc(PythonModel):
    """Wraps a :class:`LeadScoreModel`; also exposes ``score_leads`` and ``metadata`` for the
    BentoML service, which unwraps the python model."""

    def __init__(self) -> None:
        self._model: LeadScoreModel | None = None

    def load_context(self, context: Any) -> None:
        """Load the bundle artifact."""
        self._model = LeadScoreModel.load(Path(context.artifacts[BUNDLE_ARTIFACT]))

    @property
    def model(self) -> LeadScoreModel:
        if self._model is None:
            raise RuntimeError("LeadScorePyfunc used before load_context")
        return self._model

    @property
    def metadata(self) -> dict[str, Any]:
        """trained_at, holdout_metrics, thresholds, ... (read by the serving layer)."""
        return {**self.model.metadata, "thresholds": self.model.thresholds}

    def warm_up(self) -> None:
        """Compile the fast explainer before the first request (long-running servers)."""
        self.model.warm_up()

    def score_leads(self, leads: list[LeadIn], explain_k: int) -> list[ScoreOut]:
        """Score validated leads (the service's entry point)."""
        return self.model.score_leads(leads, explain_k)

    def describe_changes(self, score: ScoreOut, previous: ScoredExplanation) -> ScoreChanges | None:
        """What changed since a lead's previous score (the service's "what changed")."""
        return self.model.describe_changes(score, previous)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score a DataFrame of leads (see module docstring); ``params.explain_k`` optional."""
        explain_k = int((params or {}).get("explain_k", self.model.metadata.get("explain_k", 3)))
        leads = frame_to_leads(model_input)
        return scores_to_frame(self.model.score_leads(leads, explain_k))


def frame_to_leads(frame: pd.DataFrame) -> list[LeadIn]:
    """Rows of the pyfunc input into validated leads; errors name the row and the field."""
    if "lead_id" not in frame.columns:
        raise ValueError(f"input lacks column 'lead_id' (columns: {list(frame.columns)})")
    attributes = [name for name in frame.columns if name not in _CORE_COLUMNS]
    leads = []
    for i, row in enumerate(frame.to_dict(orient="records")):
        try:
            leads.append(
                LeadIn(
                    lead_id=str(row["lead_id"]),
                    as_of=_blank(row.get("as_of")),
                    created_at=_blank(row.get("created_at")),
                    attributes={name: _blank(row[name]) for name in attributes},
                    events=_json_list(row.get("events"), "events"),
                    outcomes=_json_list(row.get("outcomes"), "outcomes"),
                    account_engaged_colleagues_30d=_blank(
                        row.get("account_engaged_colleagues_30d")
                    ),
                )
            )
        except ValueError as exc:
            raise ValueError(f"input row {i} (lead_id {row.get('lead_id')!r}): {exc}") from exc
    return leads


def leads_to_frame(leads: list[LeadIn], attributes: list[str]) -> pd.DataFrame:
    """The inverse of :func:`frame_to_leads`: the pyfunc input for these leads."""
    rows = []
    for lead in leads:
        row: dict[str, Any] = {
            "lead_id": lead.lead_id,
            "as_of": lead.as_of.isoformat() if lead.as_of else None,
            "created_at": lead.created_at.isoformat() if lead.created_at else None,
        }
        row.update({name: lead.attributes.get(name) for name in attributes})
        row["events"] = json.dumps([e.model_dump(mode="json") for e in lead.events])
        row["outcomes"] = json.dumps([o.model_dump(mode="json") for o in lead.outcomes])
        colleagues = lead.account_engaged_colleagues_30d
        row["account_engaged_colleagues_30d"] = None if colleagues is None else float(colleagues)
        rows.append(row)
    return pd.DataFrame(rows)


def scores_to_frame(scores: list[ScoreOut]) -> pd.DataFrame:
    """ScoreOut list -> the pyfunc output frame (reasons as JSON, as_of as ISO string)."""
    rows = []
    for score in scores:
        row = score.model_dump(mode="json")
        row["reasons"] = json.dumps(row["reasons"])
        rows.append(row)
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def _blank(value: Any) -> Any:
    """Missing cells (None, NaN, NA, empty string) as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _json_list(value: Any, field: str) -> list[Any]:
    value = _blank(value)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{field}: not a JSON list: {str(value)[:80]!r}") from exc
    if not isinstance(parsed, list):
        raise ValueError(f"{field}: expected a JSON list, got {type(parsed).__name__}")
    return parsed
