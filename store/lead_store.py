"""The lead store as the service and the CLI use it: one object over the database and the
dataset config that declares what a lead is. Every method is one transaction."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from features.ingest.dataset_config import load_config
from store import lead_reads, maintenance
from store.alert_outbox import announce_model_change
from store.alert_rules import AlertPolicy
from store.database import BUSY_SECONDS, StoreDatabase, connect_store
from store.ingest_writes import write_batch
from store.lead_schema import FieldError, LeadSchema
from store.migrate import upgrade_store
from store.records import IngestBatch, IngestResult, to_micros
from store.score_records import (
    ScoreChange,
    StoreScore,
    append_history,
    latest_explanations,
    record_scores,
)

T = TypeVar("T")
_RETRIES = 5
_RACE_STATES = {"40P01", "40001", "23505"}  # deadlock, serialization failure, unique violation


def _lost_a_race(exc: Exception) -> bool:
    """Whether a PostgreSQL error means "another transaction got there first"."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in _RACE_STATES


def now_micros() -> int:
    return to_micros(datetime.now(UTC))


class LeadStore:
    """Leads, events, deals, current scores and score history in one database."""

    def __init__(
        self, db: StoreDatabase, schema: LeadSchema, alerts: AlertPolicy | None = None
    ) -> None:
        self.db = db
        self.schema = schema
        self.alerts = alerts  # None: score changes raise no alerts

    @classmethod
    def open(
        cls,
        url: str,
        dataset: str,
        *,
        upgrade: bool = True,
        pool_size: int = 5,
        alerts: AlertPolicy | None = None,
        busy_seconds: float = BUSY_SECONDS,
    ) -> LeadStore:
        """Connect to the store at ``url`` (migrating it first unless ``upgrade`` is False);
        ``dataset`` is the dataset config (name or path) that declares the leads; ``alerts``
        the rules' thresholds (score changes then write their alerts to the outbox);
        ``busy_seconds``: how long a SQLite statement waits for another process's lock."""
        schema = LeadSchema.from_config(load_config(dataset))
        db = connect_store(url, pool_size=pool_size, busy_seconds=busy_seconds)
        if upgrade:
            upgrade_store(db)
        return cls(db, schema, alerts)

    def close(self) -> None:
        self.db.dispose()

    # ---------------------------------------------------------------- writes

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction. On PostgreSQL, a transaction that lost a race
        to a concurrent one (a deadlock, or the same new row inserted by both) is run again:
        the second run sees the other's rows."""
        for attempt in range(_RETRIES):
            try:
                with self.db.write() as connection:
                    return work(connection)
            except (OperationalError, IntegrityError) as exc:
                if attempt == _RETRIES - 1 or not _lost_a_race(exc):
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def ingest(self, batch: IngestBatch) -> IngestResult:
        """Store a batch whole or not at all."""
        return self._write(lambda connection: write_batch(connection, batch, now_micros()))

    def ingest_many(self, batches: Sequence[IngestBatch]) -> list[IngestResult | FieldError]:
        """Store several requests' batches in one transaction, each whole or not at all (a
        savepoint each): a batch refused for its content gets its :class:`FieldError` and the
        others are stored. One commit for them all is the point: on SQLite a commit writes
        every page the transaction touched, and concurrent batches touch the same index pages."""

        def work(connection: Connection) -> list[IngestResult | FieldError]:
            outcomes: list[IngestResult | FieldError] = []
            for batch in batches:
                savepoint = connection.begin_nested()
                try:
                    outcomes.append(write_batch(connection, batch, now_micros()))
                except FieldError as exc:
                    savepoint.rollback()
                    outcomes.append(exc)
                else:
                    savepoint.commit()
            return outcomes

        return self._write(work)

    def record_scores(
        self, scores: Sequence[StoreScore], *, refresh: bool = False
    ) -> list[ScoreChange]:
        """Store newer scores of stored leads (history rows and alerts with them)."""
        return self._write(
            lambda connection: record_scores(
                connection, scores, refresh=refresh, alerts=self.alerts
            )
        )

    def append_history(self, scores: Sequence[StoreScore]) -> int:
        """Log scores served for leads sent whole (``POST /score``)."""
        with self.db.write() as connection:
            return append_history(connection, scores)

    def write_scores(
        self, stored: Sequence[StoreScore], served: Sequence[StoreScore]
    ) -> tuple[list[ScoreChange], int]:
        """Both kinds in one transaction (the service's background writer)."""

        def work(connection: Connection) -> tuple[list[ScoreChange], int]:
            changes = record_scores(connection, stored, alerts=self.alerts)
            return changes, append_history(connection, served)

        return self._write(work)

    def announce_model_change(self, version: str) -> str | None:
        """Announce the champion change to ``version`` once every stored lead has its score
        (see :func:`store.alert_outbox.announce_model_change`); the event id or None."""
        return self._write(
            lambda connection: announce_model_change(connection, version, now_micros())
        )

    def analyze(self) -> None:
        """Refresh the query planner's statistics (after a bulk import: PostgreSQL plans a
        new table's queries as if it were empty until autovacuum gets to it)."""
        with self.db.write() as connection:
            connection.exec_driver_sql("ANALYZE")

    def erase(self, lead_id: str) -> dict[str, int]:
        """Remove everything about one lead; rows removed per table."""
        with self.db.write() as connection:
            return maintenance.erase_lead(connection, lead_id)

    # ---------------------------------------------------------------- reads

    def lead_view(
        self, lead_id: str, *, n_events: int = 50, n_history: int = 50
    ) -> dict[str, Any] | None:
        """The lead, its current score, latest events, deals and score history."""
        with self.db.read() as connection:
            record = lead_reads.lead_record(connection, lead_id)
            if record is None:
                return None
            record["events"] = lead_reads.recent_events(connection, lead_id, n_events)
            record["events_total"] = lead_reads.event_count(connection, lead_id)
            record["deals"] = lead_reads.lead_deals(connection, lead_id)
            record["history"] = lead_reads.score_history_of(connection, lead_id, n_history)
            return record

    def scoring_inputs(
        self,
        lead_ids: Sequence[str],
        as_of: int,
        *,
        passive_types: Iterable[str],
        account_window_days: int,
    ) -> list[lead_reads.ScoringInput]:
        with self.db.read() as connection:
            return lead_reads.scoring_inputs(
                connection, lead_ids, as_of,
                passive_types=passive_types, account_window_days=account_window_days,
            )  # fmt: skip

    def history_frame(self) -> pd.DataFrame:
        """All score history rows (what was served), for backtests."""
        with self.db.read() as connection:
            return lead_reads.score_history_frame(connection)

    def history(self, lead_id: str, limit: int) -> list[dict[str, Any]]:
        with self.db.read() as connection:
            return lead_reads.score_history_of(connection, lead_id, limit)

    def latest_explanations(self, lead_ids: Sequence[str]) -> dict[str, str]:
        """Each lead's latest stored compact explanation (JSON text), by lead id."""
        with self.db.read() as connection:
            return latest_explanations(connection, lead_ids)

    def stats(self) -> dict[str, Any]:
        with self.db.read() as connection:
            return maintenance.store_stats(connection, self.schema.known_event_types())

    def leads_to_rescore(
        self, model_version: str, refresh_before: int | None, limit: int
    ) -> tuple[str, list[str]]:
        """The next leads the background rescorer should score, and why: changed leads first,
        then leads scored by another model version, then scores older than
        ``refresh_before``."""
        with self.db.read() as connection:
            changed = maintenance.leads_needing_score(connection, limit)
            if changed:
                return "change", changed
            other = maintenance.leads_scored_by_other_models(connection, model_version, limit)
            if other:
                return "model", other
            if refresh_before is not None:
                return "refresh", maintenance.leads_scored_before(connection, refresh_before, limit)
            return "refresh", []
