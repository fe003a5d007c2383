"""The native bulk routes' bodies: ``POST /leads`` (upsert), ``POST /events``, ``POST /deals``.

Each takes up to :data:`MAX_ITEMS` items in one transaction (stored whole or not at all). Events
and deals may carry an ``id``, their idempotency key: an item whose id is stored already is
acknowledged and not stored twice. Lead upserts need none: sending the same values again
changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from features.value_limits import AttributeScalar, FiniteNumber, SupportedTime
from store.deal_writes import validate_deal
from store.lead_schema import LeadSchema
from store.records import DealRecord, EventRecord, IngestBatch, LeadUpdate, to_micros

MAX_ITEMS = 5000
Id = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=128)]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LeadItem(_Item):
    lead_id: Id
    created_at: SupportedTime | None = Field(
        default=None, description="When the lead entered the CRM (default: first time seen)."
    )
    account_id: Id | None = None
    attributes: dict[str, AttributeScalar] = Field(
        default_factory=dict, description="Declared attributes; undeclared names are not stored."
    )
    updated_at: SupportedTime | None = Field(
        default=None,
        description="When these values were true in the CRM (default: now); an older update "
        "delivered after a newer one changes nothing.",
    )


class EventItem(_Item):
    id: Key | None = Field(default=None, description="Idempotency key of this event.")
    lead_id: Id
    event_type: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    occurred_at: SupportedTime
    campaign: Text | None = None
    channel: Text | None = None


class DealItem(_Item):
    id: Key | None = Field(default=None, description="Idempotency key of this message.")
    deal_id: Id | None = Field(default=None, description="The CRM's opportunity id (upsert).")
    lead_id: Id
    opened_at: SupportedTime | None = None
    closed_at: SupportedTime | None = None
    won: bool | None = None
    amount: FiniteNumber | None = None


class LeadsBody(_Item):
    leads: list[LeadItem] = Field(min_length=1, max_length=MAX_ITEMS)


class EventsBody(_Item):
    events: list[EventItem] = Field(min_length=1, max_length=MAX_ITEMS)


class DealsBody(_Item):
    deals: list[DealItem] = Field(min_length=1, max_length=MAX_ITEMS)


def _micros(stamp: datetime | None) -> int | None:
    return None if stamp is None else to_micros(stamp)


def lead_batch(
    body: LeadsBody, schema: LeadSchema, received_at: datetime
) -> tuple[IngestBatch, set[str]]:
    """The upserts, and the attribute names not stored (undeclared)."""
    batch, ignored = IngestBatch(), set()
    for i, item in enumerate(body.leads):
        where = f"leads[{i}]"
        attributes, skipped = schema.attributes_of(item.attributes, f"{where}.attributes")
        ignored.update(skipped)
        batch.leads.append(
            LeadUpdate(
                lead_id=item.lead_id,
                at=to_micros(item.updated_at or received_at),
                where=where,
                attributes=attributes,
                account_id=item.account_id,
                sets_account="account_id" in item.model_fields_set,
                created_at=_micros(item.created_at),
            )
        )
    return batch, ignored


def event_batch(body: EventsBody, schema: LeadSchema) -> IngestBatch:
    batch = IngestBatch()
    for i, item in enumerate(body.events):
        where = f"events[{i}]"
        batch.events.append(
            EventRecord(
                lead_id=item.lead_id,
                occurred_at=to_micros(item.occurred_at),
                event_type=schema.event_type(item.event_type, f"{where}.event_type"),
                where=where,
                campaign=item.campaign,
                channel=item.channel,
                key=item.id,
            )
        )
    return batch


def deal_batch(body: DealsBody) -> IngestBatch:
    batch = IngestBatch()
    for i, item in enumerate(body.deals):
        record = DealRecord(
            lead_id=item.lead_id,
            where=f"deals[{i}]",
            deal_id=item.deal_id,
            opened_at=_micros(item.opened_at),
            closed_at=_micros(item.closed_at),
            won=item.won,
            amount=item.amount,
            key=item.id,
        )
        batch.deals.append(validate_deal(record))
    return batch


def body_schema(kind: str) -> type[Any]:
    """The body model of a native route (``leads``, ``events``, ``deals``)."""
    return {"leads": LeadsBody, "events": EventsBody, "deals": DealsBody}[kind]
