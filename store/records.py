"""Normalised items the store writes, whatever route or file they came from.

Times are UTC epoch microseconds (see :mod:`store.tables`). ``where`` names the item in the
request it came from (``batch[3]``, ``events[12]``) so a problem found while writing can still
be reported against the right item. Plain slotted classes, not frozen ones: an import builds
millions, and a frozen dataclass takes ~2x as long to construct.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from store.lead_schema import AttributeValue

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(stamp: datetime) -> int:
    """An aware datetime as UTC epoch microseconds (exact integer arithmetic)."""
    return (stamp - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """UTC epoch microseconds as an aware datetime."""
    return _EPOCH + timedelta(microseconds=micros)


@dataclass(slots=True)
class LeadUpdate:
    """Attributes, account or creation time of one lead, as true at ``at``."""

    lead_id: str
    at: int
    where: str
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    account_id: str | None = None
    sets_account: bool = False
    created_at: int | None = None


@dataclass(slots=True)
class EventRecord:
    """One engagement event with its canonical type."""

    lead_id: str
    occurred_at: int
    event_type: str
    where: str
    campaign: str | None = None
    channel: str | None = None
    key: str | None = None


@dataclass(slots=True)
class DealRecord:
    """An opportunity: open (``opened_at`` only) or closed (``closed_at`` and ``won``)."""

    lead_id: str
    where: str
    deal_id: str | None = None
    opened_at: int | None = None
    closed_at: int | None = None
    won: bool | None = None
    amount: float | None = None
    key: str | None = None


@dataclass
class IngestBatch:
    """Everything one request (or one chunk of an import) writes, in one transaction."""

    leads: list[LeadUpdate] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    deals: list[DealRecord] = field(default_factory=list)

    def lead_ids(self) -> list[str]:
        """Every lead the batch touches, sorted (the order rows are locked in)."""
        ids = {u.lead_id for u in self.leads}
        ids.update(e.lead_id for e in self.events)
        ids.update(d.lead_id for d in self.deals)
        return sorted(ids)

    def __len__(self) -> int:
        return len(self.leads) + len(self.events) + len(self.deals)


@dataclass
class IngestResult:
    """What a batch changed: counts only (no ids, no values)."""

    events_stored: int = 0
    events_duplicate: int = 0
    deals_stored: int = 0
    deals_updated: int = 0
    deals_duplicate: int = 0
    leads_created: int = 0
    leads_changed: int = 0

    def add(self, other: IngestResult) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
