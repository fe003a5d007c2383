"""The scoring contract shared by the pyfunc model, batch scoring and the HTTP service.

One lead in, one result out. Field names are the public API: CRMs write these onto the lead
record, so change them only with a new API version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from features.value_limits import AttributeScalar, SupportedTime

EventType = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
AttributeValue = AttributeScalar


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventIn(_Model):
    """One engagement event. Times must carry a zone (``Z`` or ``+02:00``): naive times are
    ambiguous across CRMs and are rejected."""

    event_type: EventType
    occurred_at: SupportedTime


class OutcomeIn(_Model):
    """A deal of this lead: closed ones count as prior wins / lost deals once closed by
    ``as_of``; with ``opened_at``, a deal not closed by ``as_of`` is an open opportunity.
    A deal still open has ``closed_at`` and ``won`` empty and needs ``opened_at``."""

    closed_at: SupportedTime | None = None
    won: bool | None = None
    opened_at: SupportedTime | None = Field(
        default=None, description="When the opportunity opened (enables open-opportunity features)."
    )

    @model_validator(mode="after")
    def _closed_or_open(self) -> OutcomeIn:
        if self.closed_at is None:
            if self.opened_at is None:
                raise ValueError("a deal needs closed_at (closed) or opened_at (still open)")
            if self.won is not None:
                raise ValueError("won must be empty while the deal is open (no closed_at)")
        elif self.won is None:
            raise ValueError("won is required for a closed deal (closed_at is set)")
        elif self.opened_at is not None and self.opened_at > self.closed_at:
            raise ValueError("opened_at is after closed_at")
        return self


class LeadIn(_Model):
    """Everything known about one lead at scoring time."""

    lead_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    as_of: SupportedTime | None = Field(
        default=None, description="Scoring time; defaults to now. Later events are ignored."
    )
    created_at: SupportedTime | None = Field(
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
