"""Write one :class:`~store.records.IngestBatch` inside the caller's transaction.

Rules, the same for every source (Segment, the native routes, CRM imports):
- a lead is created by the first item that names it; without a given ``created_at`` its
  creation time is the earliest time seen for it (an older event arriving late moves it back);
- an attribute or account is set by the newest message that sets it: each field keeps the time
  of the message that set it, and an older message delivered late changes nothing;
- an event or deal whose idempotency key is already stored is acknowledged and not stored again;
- a deal with the CRM's ``deal_id`` updates that deal; without one, a deal is the lead's deal
  opened at the same moment (so a close of an open deal closes it: the batch loaders' rule),
  or, known only by its close, the lead's deal closed at that moment;
- every lead the batch changed gets a new revision and waits for a score.

On PostgreSQL the batch's leads are created and then locked in lead-id order before anything
else is written, so concurrent batches touching the same leads queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Connection, String, bindparam, cast, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.lead_schema import FieldError
from store.records import DealRecord, EventRecord, IngestBatch, IngestResult
from store.tables import deals, events, leads

ACCOUNT_FIELD = "account_id"  # its time is kept in field_times like an attribute's
_KEEP_ON_UPDATE = ("lead_id", "idempotency_key")  # an update never moves or re-keys a deal
_KEY_SLICE = 500  # idempotency keys per lookup query


def insert_for(connection: Connection, table: Any) -> Any:
    """The dialect's INSERT (with ON CONFLICT support) for ``table``."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def write_batch(connection: Connection, batch: IngestBatch, now: int) -> IngestResult:
    """Store ``batch``; raise :class:`FieldError` (nothing written) for a conflicting item."""
    result = IngestResult()
    lead_ids = batch.lead_ids()
    if not lead_ids:
        return result
    result.leads_created = _create_missing(connection, batch, lead_ids, now)
    state = _lock_leads(connection, lead_ids)
    changed: set[str] = {lead_id for lead_id, row in state.items() if row["revision"] == 0}
    changed |= _store_events(connection, batch.events, result)
    changed |= _store_deals(connection, batch.deals, result)
    _apply_lead_updates(batch, state, changed)
    _move_creation_back(batch, state, changed)
    if changed:
        _bump(connection, state, sorted(changed), now)
    result.leads_changed = len(changed)
    return result


def _create_missing(
    connection: Connection, batch: IngestBatch, lead_ids: list[str], now: int
) -> int:
    earliest = _earliest_times(batch)
    rows = [
        {
            "lead_id": lead_id,
            "created_at": earliest[lead_id],
            "attributes": {},
            "field_times": {},
            "updated_at": now,
        }
        for lead_id in lead_ids
    ]
    statement = insert_for(connection, leads).on_conflict_do_nothing(index_elements=["lead_id"])
    created = connection.execute(statement.returning(leads.c.lead_id), rows).all()
    return len(created)


def _earliest_times(batch: IngestBatch) -> dict[str, int]:
    earliest: dict[str, int] = {}

    def seen(lead_id: str, at: int | None) -> None:
        if at is not None and (lead_id not in earliest or at < earliest[lead_id]):
            earliest[lead_id] = at

    for update_ in batch.leads:
        seen(update_.lead_id, update_.created_at if update_.created_at is not None else update_.at)
    for event in batch.events:
        seen(event.lead_id, event.occurred_at)
    for deal in batch.deals:
        seen(deal.lead_id, deal.opened_at if deal.opened_at is not None else deal.closed_at)
    return earliest


def _lock_leads(connection: Connection, lead_ids: list[str]) -> dict[str, dict[str, Any]]:
    query = (
        select(
            leads.c.lead_id, leads.c.created_at, leads.c.created_at_given, leads.c.account_id,
            leads.c.attributes, leads.c.field_times, leads.c.revision,
        )
        .where(leads.c.lead_id.in_(lead_ids))
        .order_by(leads.c.lead_id)
        # FOR NO KEY UPDATE: taken in id order; leaves inserts of events (whose foreign key
        # takes a KEY SHARE lock on the lead) free to proceed in other transactions.
        .with_for_update(key_share=True)
    )  # fmt: skip
    return {row.lead_id: dict(row._mapping) for row in connection.execute(query)}


def _store_events(
    connection: Connection, records: Sequence[EventRecord], result: IngestResult
) -> set[str]:
    if not records:
        return set()
    keys = [record.key for record in records if record.key is not None]
    known = _stored_keys(connection, events, keys)
    rows, changed = [], set()
    for record in records:
        if record.key is not None:
            if record.key in known:
                continue
            known.add(record.key)  # the same key twice in one batch: stored once
        rows.append(
            (
                record.lead_id, record.occurred_at, record.event_type, record.campaign,
                record.channel, record.key,
            )
        )  # fmt: skip
        changed.add(record.lead_id)
    stored = _insert_events(connection, rows) if rows else 0
    result.events_stored += stored
    result.events_duplicate += len(records) - stored
    return changed


def _stored_keys(connection: Connection, table: Any, keys: list[str]) -> set[str]:
    """Which of ``keys`` the table holds already (looked up in slices of bounded size)."""
    found: set[str] = set()
    column = table.c.idempotency_key
    for low in range(0, len(keys), _KEY_SLICE):
        part = keys[low : low + _KEY_SLICE]
        if connection.dialect.name == "postgresql":
            # A join with the keys as one array: PostgreSQL compares a column with a list of
            # parameters one by one on every row it scans, and scans when a new table has no
            # statistics yet (measured: 1 s per lookup of 500 keys in 17k events).
            keys_table = (
                func.unnest(cast(part, ARRAY(String))).table_valued("key").render_derived("wanted")
            )
            query = select(column).join(keys_table, column == keys_table.c.key)
        else:
            query = select(column).where(column.in_(part))
        found.update(connection.execute(query).scalars())
    return found


def _insert_events(connection: Connection, rows: list[tuple[Any, ...]]) -> int:
    """The driver's executemany: SQLAlchemy's per-row parameter processing cost more than
    SQLite's insert itself (measured). ON CONFLICT: a key another transaction stored since
    the lookup above is skipped, not an error."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        "INSERT INTO events (lead_id, occurred_at, event_type, campaign, channel, "
        f"idempotency_key) VALUES ({', '.join([mark] * 6)}) "
        "ON CONFLICT (idempotency_key) DO NOTHING"
    )
    return max(0, int(connection.exec_driver_sql(statement, rows).rowcount))


def _store_deals(
    connection: Connection, records: Sequence[DealRecord], result: IngestResult
) -> set[str]:
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


def _apply_lead_updates(
    batch: IngestBatch, state: dict[str, dict[str, Any]], changed: set[str]
) -> None:
    for item in batch.leads:
        row = state[item.lead_id]
        attributes, times = dict(row["attributes"]), dict(row["field_times"])
        fields: dict[str, Any] = dict(item.attributes)
        if item.sets_account:
            fields[ACCOUNT_FIELD] = item.account_id
        dirty = False
        for name, value in fields.items():
            if times.get(name, -(2**62)) > item.at:
                continue  # a newer message already set this field
            times[name] = item.at
            current = row["account_id"] if name == ACCOUNT_FIELD else attributes.get(name)
            if current != value:
                dirty = True
                if name == ACCOUNT_FIELD:
                    row["account_id"] = value
                else:
                    attributes[name] = value
        if item.created_at is not None and (
            not row["created_at_given"] or row["created_at"] != item.created_at
        ):
            row["created_at"], row["created_at_given"] = item.created_at, True
            dirty = True
        row["attributes"], row["field_times"] = attributes, times
        if dirty:
            changed.add(item.lead_id)


def _move_creation_back(
    batch: IngestBatch, state: dict[str, dict[str, Any]], changed: set[str]
) -> None:
    for lead_id, earliest in _earliest_times(batch).items():
        row = state[lead_id]
        if not row["created_at_given"] and earliest < row["created_at"]:
            row["created_at"] = earliest
            changed.add(lead_id)


def _bump(
    connection: Connection, state: dict[str, dict[str, Any]], lead_ids: list[str], now: int
) -> None:
    statement = (
        update(leads)
        .where(leads.c.lead_id == bindparam("b_lead_id"))
        .values(
            created_at=bindparam("b_created_at"),
            created_at_given=bindparam("b_created_at_given"),
            account_id=bindparam("b_account_id"),
            attributes=bindparam("b_attributes", type_=leads.c.attributes.type),
            field_times=bindparam("b_field_times", type_=leads.c.field_times.type),
            revision=leads.c.revision + 1,
            needs_score=True,
            updated_at=now,
        )
    )
    rows = [
        {
            "b_lead_id": lead_id,
            "b_created_at": state[lead_id]["created_at"],
            "b_created_at_given": state[lead_id]["created_at_given"],
            "b_account_id": state[lead_id]["account_id"],
            "b_attributes": state[lead_id]["attributes"],
            "b_field_times": state[lead_id]["field_times"],
        }
        for lead_id in lead_ids
    ]
    connection.execute(statement, rows)


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
