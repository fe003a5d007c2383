"""Deals into the store, inside the caller's write transaction (see :mod:`store.ingest_writes`).

A deal with the CRM's ``deal_id`` updates that deal; without one, a deal is the lead's deal
opened at the same moment (so a close of an open deal closes it: the batch loaders' rule), or,
known only by its close, the lead's deal closed at that moment. A message whose idempotency
key is stored already changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from store.lead_schema import FieldError
from store.records import DealRecord, IngestResult
from store.tables import deals

_KEEP_ON_UPDATE = ("lead_id", "idempotency_key")  # an update never moves or re-keys a deal


def store_deals(
    connection: Connection, records: Sequence[DealRecord], result: IngestResult
) -> set[str]:
    """Insert or update the deals; return the leads whose deals changed."""
    if not records:
        return set()
    lead_ids = sorted({d.lead_id for d in records})
    deal_ids = sorted({d.deal_id for d in records if d.deal_id is not None})
    keys = sorted({d.key for d in records if d.key is not None})
    condition = deals.c.lead_id.in_(lead_ids)
    if deal_ids:
        condition = condition | deals.c.deal_id.in_(deal_ids)
    if keys:
        condition = condition | deals.c.idempotency_key.in_(keys)
    existing = [dict(row._mapping) for row in connection.execute(select(deals).where(condition))]
    known_keys = set(keys) & {row["idempotency_key"] for row in existing}
    changed: set[str] = set()
    new: list[dict[str, Any]] = []
    for record in records:
        if record.key is not None and record.key in known_keys:
            result.deals_duplicate += 1
            continue
        target = _matching_deal(record, existing)
        values = _deal_values(record)
        if target is None and record.opened_at is None and record.closed_at is None:
            raise FieldError(
                f"{record.where}.deal_id", "no such deal: a new deal needs opened_at or closed_at"
            )
        if target is None:
            row = {**values, "id": None}  # inserted at the end: a later item may close it
            new.append(row)
            existing.append(row)
            result.deals_stored += 1
        else:
            if target["lead_id"] != record.lead_id:
                raise FieldError(f"{record.where}.deal_id", "this deal id belongs to another lead")
            # Fields the item leaves empty are not given: the deal keeps what it had.
            merged = {
                k: v
                for k, v in values.items()
                if v is not None and k not in _KEEP_ON_UPDATE and target.get(k) != v
            }
            if not merged:
                result.deals_duplicate += 1
                continue
            if target["id"] is None:  # opened earlier in this batch: insert it as it ends up
                target.update(merged)
            else:
                update_ = update(deals).where(deals.c.id == target["id"]).values(**merged)
                connection.execute(update_)
                target.update(merged)
            result.deals_updated += 1
        if record.key is not None:
            known_keys.add(record.key)
        changed.add(record.lead_id)
    if new:
        connection.execute(
            deals.insert(), [{k: v for k, v in row.items() if k != "id"} for row in new]
        )
    return changed


def _matching_deal(record: DealRecord, existing: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The stored deal ``record`` is about: by the CRM's deal id; without one, the lead's deal
    opened at the same moment (a close of an open deal, or the same deal again), or for a deal
    known only by its close, the lead's deal closed at that moment."""
    if record.deal_id is not None:
        return next((row for row in existing if row["deal_id"] == record.deal_id), None)
    same_lead = [row for row in existing if row["lead_id"] == record.lead_id]
    if record.opened_at is not None:
        return next((row for row in same_lead if row["opened_at"] == record.opened_at), None)
    return next(
        (
            row
            for row in same_lead
            if row["opened_at"] is None and row["closed_at"] == record.closed_at
        ),
        None,
    )


def _deal_values(record: DealRecord) -> dict[str, Any]:
    return {
        "lead_id": record.lead_id,
        "deal_id": record.deal_id,
        "opened_at": record.opened_at,
        "closed_at": record.closed_at,
        "won": record.won,
        "amount": record.amount,
        "idempotency_key": record.key,
    }


def validate_deal(record: DealRecord) -> DealRecord:
    """The scoring contract's rule for deals (:class:`models.schema.OutcomeIn`), per item."""
    if record.closed_at is None:
        if record.opened_at is None and record.deal_id is None:
            raise FieldError(
                record.where, "a deal needs closed_at (closed) or opened_at (still open)"
            )
        if record.won is not None:
            raise FieldError(f"{record.where}.won", "must be empty while the deal is open")
    elif record.won is None:
        raise FieldError(f"{record.where}.won", "required for a closed deal (closed_at is set)")
    elif record.opened_at is not None and record.opened_at > record.closed_at:
        raise FieldError(f"{record.where}.opened_at", "is after closed_at")
    return record
