"""Webhook subscriptions: checked when added, listed without their secret, removed.

A subscriber URL must be absolute http(s) with a host. It may carry credentials (a user and
password, a token in the query), which are used to deliver but never shown again: listings
and answers show the URL with them masked. The signing secret (``whsec_`` + base64 of 24
random bytes, the Standard Webhooks format) is returned once, when the subscription is made.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection, delete, select

from store.alert_rules import EVENT_TYPES, TIERS
from store.lead_schema import FieldError
from store.tables import webhook_subscriptions

MAX_URL = 2048
MASK = "***"


def check_url(url: str) -> str:
    """``url`` if deliveries can go there; :class:`FieldError` naming what is wrong (never
    echoing the URL, which may hold credentials)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise FieldError("url", f"an http(s) URL of at most {MAX_URL} characters")
    if any(ch.isspace() for ch in url):
        raise FieldError("url", "must not contain spaces")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a malformed port
    except ValueError:
        raise FieldError("url", "not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise FieldError("url", "only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise FieldError("url", "needs a host name")
    if port == 0:
        raise FieldError("url", "port 0 cannot receive")
    return url


def masked_url(url: str) -> str:
    """The URL with its user, password and query values replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.username is not None or parts.password is not None:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(key, MASK) for key, _ in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise FieldError("events", f"at least one of {list(EVENT_TYPES)}")
    unknown = [name for name in events if name not in EVENT_TYPES]
    if unknown:
        raise FieldError("events", f"unknown event type(s) {unknown}; use {list(EVENT_TYPES)}")
    return list(dict.fromkeys(events))


def check_tier(min_tier: str | None) -> str | None:
    if min_tier is not None and min_tier not in TIERS:
        raise FieldError("min_tier", f"one of {list(TIERS)}")
    return min_tier


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def add_subscription(
    connection: Connection, url: str, events: Sequence[str], min_tier: str | None, now: int
) -> dict[str, Any]:
    """Store a checked subscription; return it with its secret (the only time it is shown)."""
    row = {
        "id": f"wh_{secrets.token_hex(8)}",
        "url": check_url(url),
        "secret": new_secret(),
        "events": check_events(events),
        "min_tier": check_tier(min_tier),
        "enabled": True,
        "disabled_reason": None,
        "created_at": now,
    }
    connection.execute(webhook_subscriptions.insert().values(**row))
    return public(row) | {"secret": row["secret"]}


def public(row: Any) -> dict[str, Any]:
    """A subscription as shown: masked URL, no secret."""
    fields = dict(row) if isinstance(row, dict) else dict(row._mapping)
    return {
        "id": fields["id"],
        "url": masked_url(fields["url"]),
        "events": list(fields["events"]),
        "min_tier": fields["min_tier"],
        "enabled": bool(fields["enabled"]),
        "disabled_reason": fields["disabled_reason"],
        "created_at": fields["created_at"],
    }


def list_subscriptions(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(webhook_subscriptions).order_by(webhook_subscriptions.c.created_at)
    )
    return [public(row) for row in rows]


def get_subscription(connection: Connection, subscription_id: str) -> dict[str, Any] | None:
    """The whole row (URL and secret included: for delivering), or None."""
    row = connection.execute(
        select(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
    ).first()
    return None if row is None else dict(row._mapping)


def remove_subscription(connection: Connection, subscription_id: str) -> bool:
    """Remove it and its deliveries (pending ones are not sent); False if there was none."""
    result = connection.execute(
        delete(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
    )
    return bool(result.rowcount)
