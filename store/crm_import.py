"""``leadscore store import``: a CRM export, loaded and validated by the batch loaders, into the
store.

Importing is idempotent: every event and deal gets a key made from its content (and, for rows
that repeat exactly, its occurrence number), so importing the same export twice stores nothing
twice, and importing next week's export adds only what is new (a deal open last week and
closed now closes the stored open deal, the loaders' rule). Leads are written with the export's
attributes, account and creation time. Chunks of whole leads go in one transaction each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.dataset import Dataset
from store.lead_store import LeadStore
from store.records import DealRecord, EventRecord, IngestBatch, IngestResult, LeadUpdate, to_micros

CHUNK_LEADS = 2_000


def import_dataset(
    store: LeadStore,
    dataset: Dataset,
    *,
    chunk_leads: int = CHUNK_LEADS,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Write every lead, event and deal of ``dataset`` into ``store`` (one transaction per
    chunk of leads), then refresh the database's statistics; return the summed counts."""
    schema = store.schema
    if dataset.static:
        raise ValueError("a static dataset has no events or times: it cannot fill the lead store")
    undeclared = sorted(set(dataset.attribute_names) - set(schema.attribute_names))
    if undeclared:
        raise ValueError(
            f"attributes {undeclared} of dataset {dataset.config.name!r} are not declared by the "
            f"store's dataset config {schema.config_name!r}; set LEADSCORE_STORE_DATASET to the "
            "config that declares them"
        )
    total = IngestResult()
    for batch, n_leads in _batches(dataset, chunk_leads):
        total.add(store.ingest(batch))
        if progress is not None:
            progress(n_leads)
    store.analyze()
    return total


def _batches(dataset: Dataset, chunk_leads: int) -> Iterator[tuple[IngestBatch, int]]:
    now = to_micros(datetime.now(UTC))
    leads = dataset.leads
    events = _with_keys(_micros(dataset.events, [c.OCCURRED_AT]), "import-event")
    deals = pd.concat([dataset.outcomes, dataset.open_deals], ignore_index=True)
    deals = _with_keys(_micros(deals, [c.OPENED_AT, c.CLOSED_AT]), "import-deal")
    event_groups = events.groupby(c.LEAD_ID, sort=False).indices if len(events) else {}
    deal_groups = deals.groupby(c.LEAD_ID, sort=False).indices if len(deals) else {}
    # Plain Python lists: one conversion per column, not a pandas lookup per cell.
    lead_ids = _values(leads[c.LEAD_ID])
    created = _values(_micros(leads[[c.CREATED_AT]], [c.CREATED_AT])[c.CREATED_AT])
    accounts = _values(leads[c.ACCOUNT_ID]) if c.ACCOUNT_ID in leads.columns else None
    attributes = {name: _values(leads[name]) for name in dataset.attribute_names}
    event_columns = {
        name: _values(events[name])
        for name in (c.OCCURRED_AT, c.EVENT_TYPE, c.CAMPAIGN, c.CHANNEL, "key")
    }
    deal_columns = {
        name: _values(deals[name]) for name in (c.OPENED_AT, c.CLOSED_AT, c.WON, c.AMOUNT, "key")
    }
    for low in range(0, len(leads), chunk_leads):
        batch = IngestBatch()
        for i in range(low, min(low + chunk_leads, len(leads))):
            lead_id = str(lead_ids[i])
            batch.leads.append(
                LeadUpdate(
                    lead_id=lead_id, at=now, where=f"leads[{i}]",
                    attributes={name: values[i] for name, values in attributes.items()},
                    account_id=None if accounts is None else accounts[i],
                    sets_account=accounts is not None, created_at=created[i],
                )
            )  # fmt: skip
            batch.events.extend(
                EventRecord(
                    lead_id=lead_id, occurred_at=event_columns[c.OCCURRED_AT][row],
                    event_type=str(event_columns[c.EVENT_TYPE][row]), where=f"events[{row}]",
                    campaign=event_columns[c.CAMPAIGN][row],
                    channel=event_columns[c.CHANNEL][row], key=event_columns["key"][row],
                )
                for row in event_groups.get(lead_id, ())
            )  # fmt: skip
            for row in deal_groups.get(lead_id, ()):
                closed = deal_columns[c.CLOSED_AT][row]
                batch.deals.append(
                    DealRecord(
                        lead_id=lead_id, where=f"outcomes[{row}]",
                        opened_at=deal_columns[c.OPENED_AT][row], closed_at=closed,
                        won=None if closed is None else bool(deal_columns[c.WON][row]),
                        amount=None if closed is None else deal_columns[c.AMOUNT][row],
                        key=deal_columns["key"][row],
                    )
                )  # fmt: skip
        yield batch, len(batch.leads)


def _micros(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Timestamp columns as nullable int64 epoch microseconds."""
    out = frame.copy()
    for column in columns:
        values = out[column]
        micros = values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
        out[column] = micros.astype("int64").astype("Int64").where(values.notna(), pd.NA)
    return out


def _with_keys(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A content key per row: the lead id and 128 bits of two independent hashes of the row
    and its occurrence number among identical rows. The lead id first keeps one lead's keys
    together in the key index, which an import fills lead by lead (random keys made SQLite
    write all over the index: imports were ~2x slower, measured)."""
    out = frame.reset_index(drop=True)
    if not len(out):
        return out.assign(key=pd.Series(dtype="str"))
    content = out.astype("str")
    content["occurrence"] = content.groupby(list(content.columns), sort=False).cumcount()
    first = pd.util.hash_pandas_object(content, index=False, hash_key="leadscore-imp-01")
    second = pd.util.hash_pandas_object(content, index=False, hash_key="leadscore-imp-02")
    pairs = zip(
        first.to_numpy(np.uint64).tolist(), second.to_numpy(np.uint64).tolist(), strict=True
    )
    leads = out[c.LEAD_ID].astype("str").tolist()
    out["key"] = [
        f"{kind}:{lead}:{a:016x}{b:016x}" for lead, (a, b) in zip(leads, pairs, strict=True)
    ]
    return out


def _values(column: pd.Series) -> list[object]:
    """A column as plain Python values, missing ones as None."""
    values = column.astype(object)
    return values.where(column.notna(), None).tolist()
