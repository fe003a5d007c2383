"""The example leads (sales page, `leadscore serve`): valid requests for the demo model, dated
relative to the moment they are asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from features.ingest.dataset_config import load_config
from serving.example_leads import example_leads
from serving.schemas import BoundedLead


def test_examples_are_valid_demo_leads_dated_from_now() -> None:
    now = datetime(2031, 5, 17, 9, 30, tzinfo=UTC)
    examples = example_leads(now)
    assert set(examples) == {"hot", "cold", "customer"}
    declared = set(load_config("demo").leads.attributes)
    for name, raw in examples.items():
        lead = BoundedLead.model_validate(raw)
        assert set(lead.attributes) <= declared, name
        assert all(e.occurred_at <= now for e in lead.events)
        assert lead.created_at is not None and lead.created_at < now
    hot = BoundedLead.model_validate(examples["hot"])
    demo = [e.occurred_at for e in hot.events if e.event_type == "demo_request"]
    assert demo == [now - timedelta(days=1)]
    customer = BoundedLead.model_validate(examples["customer"])
    assert customer.attributes["is_customer"] is True and customer.outcomes[0].won
    # The cold lead's department is simply not recorded (told as such by the reasons).
    assert "department" not in examples["cold"]["attributes"]
    # A day later, the same examples are a day later.
    later = example_leads(now + timedelta(days=1))["hot"]["events"][0]["occurred_at"]
    assert datetime.fromisoformat(later) - datetime.fromisoformat(
        examples["hot"]["events"][0]["occurred_at"]
    ) == timedelta(days=1)
