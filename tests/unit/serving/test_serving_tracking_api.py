"""Segment / RudderStack messages and native items into store items (no database): names
normalised like the batch loaders', only declared traits kept, errors naming index and field."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from pydantic import ValidationError

from features.ingest.activity_tables import canonical_events
from features.ingest.dataset_config import load_config
from serving import bulk_items
from serving.tracking_api import BatchBody, Message, convert_messages
from store.lead_schema import FieldError, LeadSchema
from store.records import to_micros

NOW = datetime(2026, 3, 1, tzinfo=UTC)
MAPPED = load_config("demo").model_copy(
    update={
        "events": load_config("demo").events.model_copy(
            update={"event_type_map": {"Demo Booked": "demo_request"}}
        )
    }
)
SCHEMA = LeadSchema.from_config(MAPPED)
RAW_NAMES = [
    "Pricing Page View",
    "pricing-page-view",
    "PRICING_PAGE_VIEW",
    "Demo Booked",
    "Webinar!",
]


def _convert(*messages: dict):
    body = BatchBody.model_validate({"batch": list(messages)})
    return convert_messages(body.batch, SCHEMA, NOW, "batch")


def test_event_names_are_normalised_exactly_as_the_batch_loaders_do() -> None:
    converted = _convert(*({"type": "track", "userId": "L1", "event": name} for name in RAW_NAMES))
    live = [event.event_type for event in converted.batch.events]
    raw = pd.DataFrame(
        {
            "lead_id": ["L1"] * 5,
            "occurred_at": ["2026-01-01T00:00:00Z"] * 5,
            "event_type": RAW_NAMES,
            "campaign": [None] * 5,
            "channel": [None] * 5,
        }
    )
    problems: list = []
    loaded = canonical_events(raw, MAPPED, problems)
    assert problems == []
    assert live == loaded["event_type"].astype("str").tolist()
    assert live == [
        "pricing_page_view", "pricing_page_view", "pricing_page_view", "demo_request", "webinar",
    ]  # fmt: skip


def test_identify_group_and_track_become_a_lead_its_account_and_its_events() -> None:
    converted = _convert(
        {
            "type": "identify", "userId": "L1", "messageId": "m1",
            "timestamp": "2026-02-01T10:00:00+01:00",
            "traits": {"industry": "software", "Company Size": "51-200", "email": "a@b.c",
                       "annual_revenue": "2500000", "is_customer": "yes",
                       "createdAt": "2026-01-15T00:00:00Z"},
        },
        {"type": "group", "userId": "L1", "groupId": "acme", "traits": {"name": "Acme"}},
        {"type": "track", "userId": "L1", "event": "Demo Booked", "messageId": "m3",
         "properties": {"campaign": "spring", "channel": "paid"}},
        {"type": "page", "userId": "L1", "name": "Pricing"},
        {"type": "track", "anonymousId": "visitor-9", "event": "Web Visit"},
    )  # fmt: skip
    lead, account = converted.batch.leads
    assert lead.attributes == {
        "industry": "software", "company_size": "51-200", "annual_revenue": 2_500_000.0,
        "is_customer": 1.0,
    }  # fmt: skip
    assert lead.at == to_micros(datetime(2026, 2, 1, 9, tzinfo=UTC))
    assert lead.created_at == to_micros(datetime(2026, 1, 15, tzinfo=UTC))
    assert converted.ignored_traits == {"email"}  # personal data never reaches the store
    assert (account.account_id, account.sets_account, account.at) == ("acme", True, to_micros(NOW))
    (event,) = converted.batch.events
    assert (event.event_type, event.key, event.campaign, event.channel) == (
        "demo_request", "m3", "spring", "paid",
    )  # fmt: skip
    assert converted.skipped == [
        {"index": 3, "reason": "page messages are not stored"},
        {"index": 4, "reason": "no userId (an anonymous visitor)"},
    ]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "track", "userId": "L1"}, "batch[1].event: required"),
        ({"type": "group", "userId": "L1"}, "batch[1].groupId: required"),
        ({"type": "identify", "userId": "L1", "traits": {"annual_revenue": "lots"}},
         "batch[1].traits.annual_revenue: expected a number"),
        ({"type": "identify", "userId": "L1", "traits": {"is_customer": "maybe"}},
         "batch[1].traits.is_customer: expected true/false (or yes/no, 1/0)"),
        ({"type": "identify", "userId": "L1", "traits": {"createdAt": "last week"}},
         "batch[1].traits.createdAt: expected an ISO 8601 time"),
        ({"type": "track", "userId": "L1", "event": "!!!"}, "batch[1].event: an event name"),
        ({"userId": "L1", "event": "x"}, "batch[1].type: required"),
    ],
)  # fmt: skip
def test_a_bad_message_is_named_by_its_index_and_field(message: dict, field: str) -> None:
    with pytest.raises(FieldError) as raised:
        _convert({"type": "track", "userId": "L0", "event": "ok"}, message)
    assert str(raised.value).startswith(field)


def test_shapes_the_tracking_api_refuses_name_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        BatchBody.model_validate({"batch": [{"type": "track", "timestamp": "2026-01-01T00:00"}]})
    (error,) = raised.value.errors()
    assert error["loc"] == ("batch", 0, "timestamp")  # a time without a zone is ambiguous
    with pytest.raises(ValidationError):
        BatchBody.model_validate({"batch": []})
    message = Message.model_validate({"type": "track", "userId": 42, "event": "x"})
    assert convert_messages([message], SCHEMA, NOW, "").batch.events[0].lead_id == "42"


def test_native_items_keep_their_ids_and_refuse_what_the_contract_refuses() -> None:
    events = bulk_items.EventsBody.model_validate(
        {"events": [{"id": "e-1", "lead_id": "L1", "event_type": "Web Visit",
                     "occurred_at": "2026-02-01T00:00:00Z"}]}
    )  # fmt: skip
    (event,) = bulk_items.event_batch(events, SCHEMA).events
    assert (event.key, event.event_type) == ("e-1", "web_visit")
    deals = bulk_items.DealsBody.model_validate(
        {"deals": [{"lead_id": "L1", "closed_at": "2026-02-01T00:00:00Z"}]}
    )
    with pytest.raises(FieldError, match=r"deals\[0\]\.won: required for a closed deal"):
        bulk_items.deal_batch(deals)
    leads = bulk_items.LeadsBody.model_validate(
        {"leads": [{"lead_id": "L1", "attributes": {"industry": "retail", "phone": "555"}}]}
    )
    batch, ignored = bulk_items.lead_batch(leads, SCHEMA, NOW)
    assert batch.leads[0].attributes == {"industry": "retail"} and ignored == {"phone"}
    assert not batch.leads[0].sets_account  # account_id not sent: left as it is
