"""``leadscore store export``: the store as the canonical tables (Parquet) and a dataset config
that reads them, so ``train``, ``retrain``, ``evaluate`` and ``score`` run on what CRMs and
CDPs wrote, through the same loaders and contracts as any export.

The tables are read in one snapshot (a lead changing meanwhile is exported before or after its
change, never half), events in chunks, so memory stays bounded by the chunk size for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from sqlalchemy import Connection, select

from common.files import write_text_atomically
from features.ingest import contracts as c
from features.ingest.dataset import Dataset
from features.ingest.dataset_config import (
    DatasetConfig,
    EventsSource,
    LeadsSource,
    OutcomesSource,
)
from store.lead_store import LeadStore
from store.tables import deals, events, leads

CONFIG_NAME = "dataset.yaml"
EVENT_CHUNK = 200_000
_TIME = pa.timestamp("us", tz="UTC")
_EVENT_SCHEMA = pa.schema(
    [
        (c.LEAD_ID, pa.string()),
        (c.OCCURRED_AT, _TIME),
        (c.EVENT_TYPE, pa.string()),
        (c.CAMPAIGN, pa.string()),
        (c.CHANNEL, pa.string()),
    ]
)


@dataclass(frozen=True)
class StoreExport:
    """Where the export went, what it holds, and each lead's revision at the snapshot."""

    folder: Path
    config_path: Path
    leads: int
    events: int
    deals: int
    revisions: dict[str, int]


def export_store(store: LeadStore, config: DatasetConfig, folder: Path) -> StoreExport:
    """Write leads, events, outcomes (closed and open deals) and ``dataset.yaml`` to ``folder``.
    ``config`` is the store's dataset config: its snapshot settings carry over."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with _snapshot(store) as connection:
        revisions = _write_leads(connection, store, folder / "leads.parquet")
        n_events = _write_events(connection, folder / "events.parquet")
        n_deals = _write_deals(connection, folder / "outcomes.parquet")
    path = folder / CONFIG_NAME
    document = exported_config(config, store).model_dump(mode="json")
    write_text_atomically(yaml.safe_dump(document, sort_keys=False), path)
    return StoreExport(folder, path, len(revisions), n_events, n_deals, revisions)


def exported_config(config: DatasetConfig, store: LeadStore) -> DatasetConfig:
    """The dataset config of an export: canonical column names, the declared attributes. It
    keeps the data set's name: the store's leads are that data set's, so a model trained on
    them is registered, promoted and served as that data set's (``leadscore-<name>``)."""
    attributes = {attribute.name: attribute.type for attribute in store.schema.attributes}
    roles = (c.LEAD_ID, c.CREATED_AT, c.ACCOUNT_ID)
    return config.model_copy(
        update={
            "description": f"Export of the lead store declared by {config.name!r}.",
            "leads": LeadsSource(
                path="leads.parquet", columns={r: r for r in roles}, attributes=attributes
            ),
            "events": EventsSource(
                path="events.parquet", columns={n: n for n in _EVENT_SCHEMA.names}
            ),
            "outcomes": OutcomesSource(
                path="outcomes.parquet",
                columns={n: n for n in (c.LEAD_ID, c.OPENED_AT, c.CLOSED_AT, c.WON, c.AMOUNT)},
            ),
            "costs": None,  # the store holds no marketing spend: the export has no costs file
        }
    )


@contextmanager
def _snapshot(store: LeadStore) -> Iterator[Connection]:
    """One consistent view of the store across several queries."""
    if store.db.is_sqlite:
        with store.db.read() as connection:  # a WAL read transaction is a snapshot
            yield connection
        return
    with store.db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


def _write_leads(connection: Connection, store: LeadStore, path: Path) -> dict[str, int]:
    query = select(
        leads.c.lead_id, leads.c.created_at, leads.c.account_id, leads.c.attributes,
        leads.c.revision,
    ).order_by(leads.c.lead_id)  # fmt: skip
    rows = connection.execute(query).all()
    columns: dict[str, pa.Array] = {
        c.LEAD_ID: pa.array([r.lead_id for r in rows], pa.string()),
        c.CREATED_AT: pa.array([r.created_at for r in rows], pa.int64()).cast(_TIME),
        c.ACCOUNT_ID: pa.array([r.account_id for r in rows], pa.string()),
    }
    for attribute in store.schema.attributes:
        kind = pa.string() if attribute.type.value == "categorical" else pa.float64()
        values = [r.attributes.get(attribute.name) for r in rows]
        columns[attribute.name] = pa.array(values, kind)
    pq.write_table(pa.table(columns), path)
    return {r.lead_id: int(r.revision) for r in rows}


def _write_events(connection: Connection, path: Path) -> int:
    query = select(
        events.c.lead_id, events.c.occurred_at, events.c.event_type, events.c.campaign,
        events.c.channel,
    ).order_by(events.c.lead_id, events.c.occurred_at, events.c.id)  # fmt: skip
    total = 0
    with pq.ParquetWriter(path, _EVENT_SCHEMA) as writer:
        result = connection.execution_options(yield_per=EVENT_CHUNK).execute(query)
        for chunk in result.partitions():
            lead_ids, times, kinds, campaigns, channels = zip(*chunk, strict=True)
            writer.write_table(
                pa.table(
                    [
                        pa.array(lead_ids, pa.string()),
                        pa.array(times, pa.int64()).cast(_TIME),
                        pa.array(kinds, pa.string()),
                        pa.array(campaigns, pa.string()),
                        pa.array(channels, pa.string()),
                    ],
                    schema=_EVENT_SCHEMA,
                )
            )
            total += len(chunk)
    return total


def _write_deals(connection: Connection, path: Path) -> int:
    query = select(
        deals.c.lead_id, deals.c.opened_at, deals.c.closed_at, deals.c.won, deals.c.amount
    ).order_by(deals.c.lead_id, deals.c.id)
    rows = connection.execute(query).all()
    table = pa.table(
        {
            c.LEAD_ID: pa.array([r.lead_id for r in rows], pa.string()),
            c.OPENED_AT: pa.array([r.opened_at for r in rows], pa.int64()).cast(_TIME),
            c.CLOSED_AT: pa.array([r.closed_at for r in rows], pa.int64()).cast(_TIME),
            c.WON: pa.array([r.won for r in rows], pa.bool_()),
            c.AMOUNT: pa.array([r.amount for r in rows], pa.float64()),
        }
    )
    pq.write_table(table, path)
    return len(rows)


def load_store_dataset(
    store: LeadStore, config: DatasetConfig, folder: Path
) -> tuple[Dataset, StoreExport]:
    """Export the store to ``folder`` and load it back through the batch loaders (the same
    validation as any CRM export)."""
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset

    exported = export_store(store, config, folder)
    return load_dataset(load_config(exported.config_path), exported.folder), exported
