"""Example leads of the demo model, dated relative to now: a hot lead, a cold one, a customer.

The sales page offers them (``GET /sales/examples.json``) and ``leadscore serve`` prints the hot
one in its ready-to-paste ``curl``. Fixed dates would age: a lead that "requested a demo
yesterday" in a file written months ago is scored today as a lead gone quiet. Attributes are
those of the simulated CRM (``features/ingest/configs/demo.yaml``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# (event type, days before now) per example.
_HOT_EVENTS = (
    ("web_visit", 20), ("email_open", 14), ("web_visit", 12), ("webinar_attended", 10),
    ("email_open", 7), ("email_click", 7), ("web_visit", 6), ("pricing_page_view", 5),
    ("web_visit", 3), ("pricing_page_view", 2), ("demo_request", 1),
)  # fmt: skip
_COLD_EVENTS = (
    ("web_visit", 200), ("email_open", 150), ("email_send", 112), ("email_send", 98),
    ("email_send", 84), ("email_send", 70), ("email_send", 56), ("email_send", 42),
    ("email_send", 28), ("email_send", 14),
)  # fmt: skip
_CUSTOMER_EVENTS = (
    ("email_send", 21), ("email_open", 20), ("content_download", 12), ("email_send", 7),
    ("email_open", 6), ("web_visit", 4),
)  # fmt: skip


def example_leads(now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """``{"hot": lead, "cold": lead, "customer": lead}`` as ``POST /score`` takes them."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)

    def ago(days: float) -> str:
        return (now - timedelta(days=days)).isoformat().replace("+00:00", "Z")

    def events(spec: tuple[tuple[str, int], ...]) -> list[dict[str, str]]:
        return [{"event_type": kind, "occurred_at": ago(days)} for kind, days in spec]

    return {
        "hot": {
            "lead_id": "demo-hot",
            "created_at": ago(45),
            "attributes": {
                "industry": "software", "company_size": "201-1000", "annual_revenue": 50_000_000,
                "country": "US", "seniority": "director", "department": "it",
                "lead_source": "referral", "is_customer": False,
            },
            "events": events(_HOT_EVENTS),
        },
        "cold": {
            "lead_id": "demo-cold",
            "created_at": ago(400),
            "attributes": {
                "industry": "retail", "company_size": "1-10", "country": "IN",
                "seniority": "individual_contributor", "lead_source": "content_syndication",
                "is_customer": False,
            },
            "events": events(_COLD_EVENTS),
        },
        "customer": {
            "lead_id": "demo-customer",
            "created_at": ago(700),
            "attributes": {
                "industry": "financial_services", "company_size": "1001-5000",
                "annual_revenue": 600_000_000, "country": "GB", "seniority": "vp",
                "department": "finance", "lead_source": "partner", "is_customer": True,
            },
            "events": events(_CUSTOMER_EVENTS),
            "outcomes": [{"opened_at": ago(340), "closed_at": ago(300), "won": True}],
        },
    }  # fmt: skip
