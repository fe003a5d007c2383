"""The scoring contract shared by the pyfunc model, batch scoring and the HTTP service.

One lead in, one result out. Field names are the public API: CRMs write these onto the lead
record, so change them only with a new API version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
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
    """One reason: what the features of one reason group (a behaviour such as the pricing-page
    views, or one attribute) did to the score, with the sentence a salesperson reads."""

    feature: str = Field(
        description="The reason group's key: the attribute's name for an attribute, the "
        "behaviour's (e.g. 'pricing_page_view') for the features about one event type."
    )
    label: str = Field(description="Short name of the reason (waterfall rows).")
    value: Any = Field(description="The group's headline value (e.g. the 90-day count).")
    impact: float = Field(description="Sum of the group's SHAP values, in log-odds.")
    direction: Literal["up", "down"]
    sentence: str
    points: float | None = Field(
        default=None,
        description="Probability points (percentage points) this reason moved the lead from "
        "base_probability; with the other groups' points they sum to 100 * (probability - "
        "base_probability).",
    )
    values: dict[str, Any] = Field(
        default_factory=dict, description="Every feature value of the group, by feature."
    )
    missing: bool = Field(
        default=False, description="True when the reason is that nothing is recorded."
    )


class ReasonChange(_Model):
    """One reason whose points moved since the lead's previous score."""

    feature: str
    label: str
    sentence: str = Field(description="The reason as it reads now.")
    points_before: float
    points_after: float


class ChangeCause(_Model):
    """Why the score moved: new events, a new model version, or time passing."""

    kind: Literal["new_events", "new_model", "time_passed"]
    text: str


class ScoreChanges(_Model):
    """What changed since the lead's previous score (present when one is known)."""

    previous_as_of: datetime
    previous_probability: float = Field(ge=0.0, le=1.0)
    previous_model_version: str
    causes: list[ChangeCause]
    reasons: list[ReasonChange]


@dataclass(frozen=True)
class ScoreDetail:
    """What a score knows beyond its public fields, kept in memory for "what changed": the
    log-odds impact of every reason group, the lead's points per unit of log-odds, the events
    seen at ``as_of`` and the feature row (never logged: it holds the attribute values)."""

    impacts: dict[str, float]
    slope: float
    events: int
    values: dict[str, Any]


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
    base_probability: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Probability of a typical lead (every reason at the training average): "
        "where the reasons' points start.",
    )
    horizon_days: int | None = Field(
        default=None, description="probability is the chance to buy within this many days."
    )
    changes: ScoreChanges | None = Field(
        default=None, description="What changed since this lead's previous score, if known."
    )
    _detail: ScoreDetail | None = PrivateAttr(default=None)

    def attach_detail(self, detail: ScoreDetail) -> None:
        """Keep the in-memory detail (see :class:`ScoreDetail`) with this score."""
        self._detail = detail

    @property
    def detail(self) -> ScoreDetail | None:
        return self._detail
