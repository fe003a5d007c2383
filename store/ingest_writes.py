"""Write one :class:`~store.records.IngestBatch` inside the caller's transaction.

Rules, the same for every source (Segment, the native routes, CRM imports):
- a lead is created by the first item that names it; without a given ``created_at`` its
  creation time is the earliest time seen for it (an older event arriving late moves it back);
- an attribute or account is set by the newest message that sets it: each field keeps the time
  of the message that set it, and an older message delivered late changes nothing;
- an event or deal whose idempotency key is already stored is acknowledged and not stored again;
- deals: see :mod:`store.deal_writes`;
- every lead the batch changed gets a new revision and waits for a score.

On PostgreSQL leads are created and locked in lead-id order, so concurrent batches touching the
same leads queue; a deadlock PostgreSQL still detects (a batch setting attributes of some
leads and adding events to others locks two sorted runs) is retried by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, case, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.deal_writes import store_deals
from store.records import EventRecord, IngestBatch, IngestResult
from store.tables import leads

ACCOUNT_FIELD = "account_id"  # its time is kept in field_times like an attribute's
_KEY_SLICE = 500  # idempotency keys per lookup query


def insert_for(connection: Connection, table: Any) -> Any:
    """The dialect's INSERT (with ON CONFLICT support) for ``table``."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def write_batch(connection: Connection, batch: IngestBatch, now: int) -> IngestResult:
    """Store ``batch``; raise :class:`FieldError` (nothing written) for a conflicting item."""
    result = IngestResult()
    new_rows = _new_events(connection, batch.events)
    earliest: dict[str, int] = {}
    for row in new_rows:
        if row[0] not in earliest or row[1] < earliest[row[0]]:
            earliest[row[0]] = row[1]
    detailed = sorted({u.lead_id for u in batch.leads} | {d.lead_id for d in batch.deals})
    if detailed:
        # Leads whose attributes, account or deals the batch sets: read, merged, written.
        result.leads_created += _create_missing(connection, batch, detailed, now)
        state = _lock_leads(connection, detailed)
        changed = {lead_id for lead_id, row in state.items() if row["revision"] == 0}
        changed |= state.keys() & earliest.keys()
        changed |= store_deals(connection, batch.deals, result)
        _apply_lead_updates(batch, state, changed)
        _move_creation_back(batch, state, changed)
        if changed:
            _bump(connection, state, sorted(changed), now)
        result.leads_changed += len(changed)
    # Leads the batch only adds events to (most of a CDP's traffic): created or bumped by one
    # statement, without reading them.
    touched = {lead_id: at for lead_id, at in earliest.items() if lead_id not in detailed}
    if touched:
        result.leads_created += _touch_leads(connection, touched, now)
        result.leads_changed += len(touched)
    if new_rows:
        result.events_stored = _insert_events(connection, new_rows)
    result.events_duplicate = len(batch.events) - result.events_stored
    return result


def _create_missing(
    connection: Connection, batch: IngestBatch, lead_ids: list[str], now: int
) -> int:
    earliest = _earliest_times(batch)
    rows = [
        {
            "lead_id": lead_id,
            # A deal without dates has none (it is refused next, in the same transaction).
            "created_at": earliest.get(lead_id, now),
            "attributes": {},
            "field_times": {},
            "score_due_since": now,
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


def _new_events(connection: Connection, records: Sequence[EventRecord]) -> list[tuple[Any, ...]]:
    """The rows of the events not stored yet (a key stored already, or twice in the batch,
    is stored once)."""
    if not records:
        return []
    keys = [record.key for record in records if record.key is not None]
    known = stored_values(connection, "events", "idempotency_key", keys)
    rows = []
    for record in records:
        if record.key is not None:
            if record.key in known:
                continue
            known.add(record.key)
        rows.append(
            (
                record.lead_id, record.occurred_at, record.event_type, record.campaign,
                record.channel, record.key,
            )
        )  # fmt: skip
    return rows


def stored_values(
    connection: Connection, table: str, column: str, values: Sequence[str]
) -> set[str]:
    """Which of ``values`` the table's ``column`` holds (in slices of bounded size; plain SQL
    through the driver: SQLAlchemy's processing of each parameter cost more than the query)."""
    found: set[str] = set()
    for low in range(0, len(values), _KEY_SLICE):
        part = list(values[low : low + _KEY_SLICE])
        if connection.dialect.name == "postgresql":
            # A join with the values as one array: PostgreSQL compares a column with a list of
            # parameters one by one on every row it scans, and scans when a new table has no
            # statistics yet (measured: 1 s per lookup of 500 keys in 17k events).
            statement = (
                f"SELECT t.{column} FROM {table} t "
                f"JOIN unnest(%s::text[]) AS wanted(v) ON t.{column} = wanted.v"
            )
            rows = connection.exec_driver_sql(statement, (part,))
        else:
            marks = ", ".join("?" * len(part))
            statement = f"SELECT {column} FROM {table} WHERE {column} IN ({marks})"
            rows = connection.exec_driver_sql(statement, tuple(part))
        found.update(value for (value,) in rows)
    return found


def _touch_leads(connection: Connection, earliest: dict[str, int], now: int) -> int:
    """Create the leads that do not exist, bump the others (their creation time moves back to
    an older event unless the CRM gave it); return how many were created."""
    lead_ids = sorted(earliest)  # the order rows are locked in
    existing = stored_values(connection, "leads", "lead_id", lead_ids)
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = (
        "INSERT INTO leads (lead_id, created_at, created_at_given, attributes, field_times, "
        "revision, needs_score, score_due_since, updated_at) VALUES "
        f"({mark}, {mark}, false, '{{}}', '{{}}', 1, true, {mark}, {mark}) "
        "ON CONFLICT (lead_id) DO UPDATE SET revision = leads.revision + 1, needs_score = true, "
        "score_due_since = CASE WHEN leads.needs_score THEN leads.score_due_since "
        "ELSE excluded.updated_at END, updated_at = excluded.updated_at, created_at = CASE WHEN "
        "leads.created_at_given OR excluded.created_at >= leads.created_at THEN "
        "leads.created_at ELSE excluded.created_at END"
    )
    connection.exec_driver_sql(
        statement, [(lead_id, earliest[lead_id], now, now) for lead_id in lead_ids]
    )
    return len(lead_ids) - len(existing)


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
            score_due_since=case(
                (leads.c.needs_score, leads.c.score_due_since), else_=literal(now)
            ),
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
