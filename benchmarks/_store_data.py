"""Helpers of ``benchmarks/store.py`` (not a benchmark itself): the stores it fills, the
tracking bodies it sends and the ``executemany`` ceiling it compares ingestion with."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

T0 = 1_767_225_600_000_000  # 2026-01-01, UTC epoch microseconds
DAY = 86_400 * 1_000_000
TYPES = ("web_visit", "email_open", "email_click", "pricing_page_view", "content_download")


def open_store(url: str) -> Any:
    from store.lead_store import LeadStore

    return LeadStore.open(url, "demo")


def tracking_bodies(n_bodies: int, seed: int) -> tuple[list[bytes], list[tuple]]:
    """``n_bodies`` /v1/batch bodies of 100 track events each (distinct messageIds over 20k
    users), and the same events as store rows (for the ceiling)."""
    rng = np.random.default_rng(seed)
    bodies, rows = [], []
    for b in range(n_bodies):
        users = rng.integers(0, 20_000, 100)
        kinds = rng.integers(0, len(TYPES), 100)
        offsets = rng.integers(0, 365 * DAY, 100)
        batch = []
        for i in range(100):
            at = T0 + int(offsets[i])
            stamp = f"{np.datetime64(at, 'us').astype(str)}Z"
            key = f"bench-{seed}-{b}-{i}"
            batch.append({"type": "track", "userId": f"U{users[i]}", "event": TYPES[kinds[i]],
                          "timestamp": stamp, "messageId": key, "properties": {"campaign": "spring"}})  # fmt: skip
            rows.append((f"U{users[i]}", at, TYPES[kinds[i]], "spring", None, key))
        bodies.append(json.dumps({"batch": batch}).encode())
    return bodies, rows


def executemany_ceiling(store_url: str, rows: list[tuple]) -> float:
    """Events/s of the driver's executemany of ``rows`` into a fresh store's events table, 100
    rows a transaction (their leads created first, as the service must)."""
    store = open_store(store_url)
    raw = store.db.writer.raw_connection()
    try:
        mark = "?" if store.db.is_sqlite else "%s"
        cursor = raw.cursor()
        leads = sorted({row[0] for row in rows})
        cursor.executemany(
            f"INSERT INTO leads (lead_id, created_at, attributes, field_times, updated_at) "
            f"VALUES ({mark}, {mark}, '{{}}', '{{}}', {mark})",
            [(lead, T0, T0) for lead in leads],
        )
        raw.commit()
        insert = (
            "INSERT INTO events (lead_id, occurred_at, event_type, campaign, channel, "
            f"idempotency_key) VALUES ({', '.join([mark] * 6)})"
        )
        started = time.perf_counter()
        for low in range(0, len(rows), 100):
            if store.db.is_sqlite:
                cursor.execute("BEGIN")
            cursor.executemany(insert, rows[low : low + 100])
            raw.commit()
        return len(rows) / (time.perf_counter() - started)
    finally:
        raw.close()
        store.close()


def fill_leads_with_events(store_url: str, n_leads: int, per_lead: int, seed: int) -> list[str]:
    """``n_leads`` leads with ``per_lead`` events each, written through the store."""
    from store.records import EventRecord, IngestBatch, LeadUpdate

    rng = np.random.default_rng(seed)
    store = open_store(store_url)
    ids = [f"R{i}" for i in range(n_leads)]
    try:
        for low in range(0, n_leads, 50):
            batch = IngestBatch()
            for lead in ids[low : low + 50]:
                batch.leads.append(
                    LeadUpdate(lead, T0, "x", {"industry": "software"}, f"A{lead[-2:]}", True)
                )
                offsets = np.sort(rng.integers(0, 180 * DAY, per_lead))
                kinds = rng.integers(0, len(TYPES), per_lead)
                batch.events.extend(
                    EventRecord(lead, T0 + int(o), TYPES[k], "x")
                    for o, k in zip(offsets, kinds, strict=True)
                )
            store.ingest(batch)
        store.analyze()
    finally:
        store.close()
    return ids
