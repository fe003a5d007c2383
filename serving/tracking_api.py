"""The Segment / RudderStack HTTP Tracking API: message shapes and what each becomes in the
lead store.

- ``identify``: ``userId`` is the lead, ``traits`` its attributes (declared ones only; the
  reserved trait ``createdAt`` is when the lead was created);
- ``group``: ``groupId`` is the lead's account;
- ``track``: ``event`` is the event type (renamed and snake_cased like the batch loaders do),
  ``properties.campaign`` / ``properties.channel`` its campaign and channel;
- ``timestamp`` is when it happened (default: when received); ``messageId`` de-duplicates a
  CDP's retries.

Messages about anonymous visitors (no ``userId``) and types that say nothing about a lead's
buying (``page``, ``screen``, ``alias``) are acknowledged, not stored, and listed in the
answer as skipped, with their index and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from features.value_limits import SupportedTime
from store.lead_schema import FieldError, LeadSchema
from store.records import EventRecord, IngestBatch, LeadUpdate, to_micros

MAX_MESSAGES = 5000  # per /v1/batch request (the 8 MiB body limit comes first for big ones)
MessageType = Literal["identify", "track", "group", "page", "screen", "alias"]
Identifier = Annotated[str, StringConstraints(max_length=128, strip_whitespace=True)] | int
Key = Annotated[str, StringConstraints(min_length=1, max_length=200)]
_AWARE = TypeAdapter(SupportedTime)


class Message(BaseModel):
    """One Tracking API message (fields this service does not use are accepted and ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: MessageType | None = None
    userId: Identifier | None = None  # Segment's field names
    anonymousId: Identifier | None = None
    groupId: Identifier | None = None
    messageId: Key | None = None
    timestamp: SupportedTime | None = None
    originalTimestamp: SupportedTime | None = None
    event: Annotated[str, StringConstraints(max_length=200)] | None = None
    traits: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None


class BatchBody(BaseModel):
    """Body of ``POST /v1/batch``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    batch: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    writeKey: str | None = None


@dataclass
class Converted:
    """A request's messages as store items, and what was not stored."""

    batch: IngestBatch = field(default_factory=IngestBatch)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    ignored_traits: set[str] = field(default_factory=set)


def convert_messages(
    messages: list[Message], schema: LeadSchema, received_at: datetime, prefix: str
) -> Converted:
    """Store items for ``messages``; ``prefix`` names them in errors (``batch[3]``, or ``""``
    for a single-message route). Raises :class:`FieldError` naming the first bad field."""
    out = Converted()
    for index, message in enumerate(messages):
        where = f"{prefix}[{index}]" if prefix else ""
        _convert(message, index, where, schema, received_at, out)
    return out


def _convert(
    message: Message,
    index: int,
    where: str,
    schema: LeadSchema,
    received_at: datetime,
    out: Converted,
) -> None:
    name = lambda field_: f"{where}.{field_}" if where else field_  # noqa: E731
    kind = message.type
    if kind is None:
        raise FieldError(name("type"), "required: identify, track, group, page, screen or alias")
    if kind in ("page", "screen", "alias"):
        out.skipped.append({"index": index, "reason": f"{kind} messages are not stored"})
        return
    lead_id = "" if message.userId is None else str(message.userId)
    if not lead_id:
        out.skipped.append({"index": index, "reason": "no userId (an anonymous visitor)"})
        return
    happened = message.timestamp or message.originalTimestamp or received_at
    at = to_micros(happened)
    if kind == "track":
        if not message.event or not message.event.strip():
            raise FieldError(name("event"), "required for a track message")
        properties = message.properties or {}
        out.batch.events.append(
            EventRecord(
                lead_id=lead_id,
                occurred_at=at,
                event_type=schema.event_type(message.event, name("event")),
                where=where or "body",
                campaign=_text(properties.get("campaign"), name("properties.campaign")),
                channel=_text(properties.get("channel"), name("properties.channel")),
                key=message.messageId,
            )
        )
    elif kind == "identify":
        traits = dict(message.traits or {})
        created = traits.pop("createdAt", None)
        attributes, ignored = schema.attributes_of(traits, name("traits"))
        out.ignored_traits.update(ignored)
        out.batch.leads.append(
            LeadUpdate(
                lead_id=lead_id,
                at=at,
                where=where or "body",
                attributes=attributes,
                created_at=None
                if created is None
                else _created_at(created, name("traits.createdAt")),
            )
        )
    else:  # group
        account = "" if message.groupId is None else str(message.groupId)
        if not account:
            raise FieldError(name("groupId"), "required for a group message")
        out.batch.leads.append(
            LeadUpdate(
                lead_id=lead_id, at=at, where=where or "body", account_id=account,
                sets_account=True,
            )
        )  # fmt: skip


def _text(value: Any, field_name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise FieldError(field_name, "expected text, not an object or a list")
    text = str(value).strip()
    if len(text) > 128:
        raise FieldError(field_name, "at most 128 characters")
    return text or None


def _created_at(value: Any, field_name: str) -> int:
    try:
        stamp = _AWARE.validate_python(value)
    except ValidationError as exc:
        problem = exc.errors(include_input=False)[0]["msg"]
        raise FieldError(field_name, f"expected an ISO 8601 time with a zone: {problem}") from None
    return to_micros(stamp)
