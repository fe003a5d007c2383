"""The scoring contract shared by the pyfunc model, batch scoring and the HTTP service.

One lead in, one result out. Field names are the public API: CRMs write these onto the lead
record, so change them only with a new API version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

EventType = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
AttributeValue = str | float | int | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventIn(_Model):
    """One engagement event. Times must carry a zone (``Z`` or ``+02:00``): naive times are
    ambiguous across CRMs and are rejected."""

    event_type: EventType
    occurred_at: AwareDatetime


class OutcomeIn(_Model):
    """A deal of this lead that closed before ``as_of`` (prior wins, lost deals)."""

    closed_at: AwareDatetime
    won: bool


class LeadIn(_Model):
    """Everything known about one lead at scoring time."""

    lead_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    as_of: AwareDatetime | None = Field(
        default=None, description="Scoring time; defaults to now. Later events are ignored."
    )
    created_at: AwareDatetime | None = Field(
        default=None, description="When the lead entered the CRM (for tenure)."
    )
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        description="Declared lead attributes by name. Missing ones and unknown categories "
        "are scored as missing.",
    )
    events: list[EventIn] = Field(default_factory=list)
    outcomes: list[OutcomeIn] = Field(default_factory=list)
    account_engaged_colleagues_30d: int | None = Field(
        default=None, ge=0, description="Colleagues at the same account engaged in 30 days."
    )


class Reason(_Model):
    """One SHAP contribution, in log-odds, with the sentence a salesperson reads."""

    feature: str
    label: str
    value: Any
    impact: float
    direction: Literal["up", "down"]
    sentence: str


class ScoreOut(_Model):
    lead_id: str
    as_of: datetime
    probability: float = Field(ge=0.0, le=1.0)
    score: int = Field(ge=1, le=99)
    tier: Literal["A", "B", "C", "D"]
    sales_ready: bool
    fit: float = Field(ge=0.0, le=100.0)
    engagement: float = Field(ge=0.0, le=100.0)
    reasons: list[Reason]
    model_version: str
