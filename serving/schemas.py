"""HTTP request and response models of the scoring service.

They wrap the shared scoring contract (:mod:`models.schema`) and add the limits a public
endpoint needs; the constraints show up in the OpenAPI document, so clients and schemathesis
see them too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from features.value_limits import AttributeScalar
from models.schema import EventIn, LeadIn, OutcomeIn, ScoreOut
from serving.limits import (
    MAX_ATTRIBUTES_PER_LEAD,
    MAX_EVENTS_PER_LEAD,
    MAX_EXPLAIN,
    MAX_LEADS_PER_REQUEST,
    MAX_OUTCOMES_PER_LEAD,
)


class BoundedLead(LeadIn):
    """A :class:`LeadIn` with per-lead size limits (still a ``LeadIn`` for the model)."""

    attributes: dict[str, AttributeScalar] = Field(
        default_factory=dict,
        max_length=MAX_ATTRIBUTES_PER_LEAD,
        description="Declared lead attributes by name. Missing attributes and unknown "
        "categories are scored as missing; names the model does not declare are refused "
        "with 422 (a typo must not silently become 'missing').",
    )
    events: list[EventIn] = Field(default_factory=list, max_length=MAX_EVENTS_PER_LEAD)
    outcomes: list[OutcomeIn] = Field(default_factory=list, max_length=MAX_OUTCOMES_PER_LEAD)


class ScoreRequest(BaseModel):
    """Body of ``POST /score``."""

    model_config = ConfigDict(extra="forbid")

    leads: list[BoundedLead] = Field(min_length=1, max_length=MAX_LEADS_PER_REQUEST)
    explain: int = Field(default=5, ge=0, le=MAX_EXPLAIN, description="Reasons per lead.")


class ScoreResponse(BaseModel):
    """Scores in request order, plus the model version that produced all of them."""

    model_version: str
    scores: list[ScoreOut]


class RegistryInfo(BaseModel):
    """Whether the registry answered the service's last poll."""

    reachable: bool
    since: AwareDatetime = Field(description="When the registry became (un)reachable.")
    last_error: str | None = Field(default=None, description="Why the last poll failed.")


class ModelInfo(BaseModel):
    """What ``GET /model`` reports about the model being served."""

    name: str
    alias: str
    version: str
    trained_at: datetime | None = None
    holdout_metrics: dict[str, float] = Field(default_factory=dict)
    thresholds: dict[str, Any] = Field(default_factory=dict)
    loaded_at: AwareDatetime
    kind: Literal["lightgbm", "points"] = Field(
        default="lightgbm",
        description="lightgbm: the trained model; points: the transparent points model served "
        "at cold start (too few closed deals to train and validate one yet).",
    )
    cold_start_reason: str | None = Field(
        default=None, description="Why a points model is served (the failed minimum-data check)."
    )
    registry: RegistryInfo | None = Field(
        default=None,
        description="The model registry as the service's last poll found it; while it is not "
        "reachable the service keeps serving the last model it loaded.",
    )


class ScoreLogEntry(BaseModel):
    """One served score as the sales page shows it (from the score log)."""

    lead_id: str
    as_of: str
    scored_at: str
    model_version: str
    probability: float
    tier: str
