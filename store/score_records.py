"""Scores into the store: each lead's current score and the score history (what was served).

:func:`record_scores` runs inside the caller's write transaction and calls
:func:`scores_changed` for every lead whose stored score it replaced, in that same
transaction: the one place where "this lead's score changed" happens, so whatever must follow
a change atomically (the history row, the alerts' outbox rows) goes there.

A score carries the lead revision it was computed from. It replaces the stored one when it saw
a newer revision, came from another model version, or (``refresh``) is a later score of the
same revision; two processes that computed the same score for the same revision store it once.

Every score may carry its compact explanation (``explanation``: JSON text of reason group keys
and numbers, see ``models.reason_changes``), kept in the history row and the current score, so
the next score of the lead can say what changed against the latest one
(:func:`latest_explanations`); the current score also keeps the ``changes`` it was served with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, bindparam, func, select, update

from store.ingest_writes import insert_for
from store.tables import current_scores, leads, score_history

if TYPE_CHECKING:
    from store.alert_rules import AlertPolicy

CAUSES = ("request", "change", "model", "refresh", "batch")
_HISTORY_COLUMNS = (
    "lead_id", "as_of", "scored_at", "model_version", "probability", "score", "tier", "cause",
    "explanation",
)  # fmt: skip
_LOOKUP_CHUNK = 500  # lead ids per look-up statement (well under SQLite's parameter limit)


@dataclass(frozen=True)
class StoreScore:
    """One lead's score as stored (times in UTC epoch microseconds)."""

    lead_id: str
    as_of: int
    scored_at: int
    model_version: str
    probability: float
    score: int
    tier: str
    sales_ready: bool
    fit: float
    engagement: float
    reasons: list[dict[str, Any]] = field(default_factory=list)
    revision: int | None = None  # the lead revision it saw; None: not a stored lead's score
    cause: str = "change"
    explanation: str | None = None  # compact JSON (models.reason_changes); None: unknown
    changes: dict[str, Any] | None = None  # what changed since the previous score, as served

    def current_row(self) -> dict[str, Any]:
        row = asdict(self)
        row.pop("cause")
        return row

    def history_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _HISTORY_COLUMNS}


@dataclass(frozen=True)
class ScoreChange:
    """A lead's stored score replaced: what it was (None: first score) and what it is."""

    lead_id: str
    previous: dict[str, Any] | None
    current: StoreScore


def record_scores(
    connection: Connection,
    scores: Sequence[StoreScore],
    *,
    refresh: bool = False,
    alerts: AlertPolicy | None = None,
) -> list[ScoreChange]:
    """Store the scores of stored leads that are newer than what the store holds (and, with
    an alert policy, the alerts they raise)."""
    latest = {score.lead_id: score for score in scores if score.revision is not None}
    if not latest:
        return []
    lead_ids = sorted(latest)
    query = (
        select(leads.c.lead_id, leads.c.revision.label("lead_revision"), current_scores)
        .select_from(leads.outerjoin(current_scores, current_scores.c.lead_id == leads.c.lead_id))
        .where(leads.c.lead_id.in_(lead_ids))
        .order_by(leads.c.lead_id)
        .with_for_update(of=leads, key_share=True)
    )
    stored = {row.lead_id: row._mapping for row in connection.execute(query)}
    changes = []
    for lead_id in lead_ids:
        row, score = stored.get(lead_id), latest[lead_id]
        if row is None:
            continue  # erased since it was scored
        previous = None if row["model_version"] is None else _score_fields(row)
        if previous is None or _newer(score, previous, refresh):
            changes.append(ScoreChange(lead_id, previous, score))
    if not changes:
        return []
    upsert = insert_for(connection, current_scores)
    columns = {c.name: upsert.excluded[c.name] for c in current_scores.c if c.name != "lead_id"}
    connection.execute(
        upsert.on_conflict_do_update(index_elements=["lead_id"], set_=columns),
        [change.current.current_row() for change in changes],
    )
    connection.execute(
        update(leads)
        .where(
            and_(
                leads.c.lead_id == bindparam("b_lead_id"),
                leads.c.revision == bindparam("b_revision"),
            )
        )
        .values(needs_score=False),
        [{"b_lead_id": c.lead_id, "b_revision": c.current.revision} for c in changes],
    )
    scores_changed(connection, changes, alerts)
    return changes


def scores_changed(
    connection: Connection, changes: Sequence[ScoreChange], alerts: AlertPolicy | None = None
) -> None:
    """What follows a change of stored scores, in the same transaction: the history rows and
    the alerts in the outbox (:mod:`store.alert_outbox`)."""
    append_history(connection, [change.current for change in changes])
    if alerts is not None:
        from store.alert_outbox import write_alerts  # it builds on this module's records

        write_alerts(connection, changes, alerts)


def append_history(connection: Connection, scores: Sequence[StoreScore]) -> int:
    """Append score history rows (outputs and compact explanations only: no attributes,
    events or worded reasons), through
    the driver: every ``POST /score`` answer comes here, and SQLAlchemy's processing of each
    row's parameters cost more than the insert."""
    if not scores:
        return 0
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    columns = list(_HISTORY_COLUMNS)
    statement = (
        f"INSERT INTO score_history ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    rows = [
        (
            s.lead_id, s.as_of, s.scored_at, s.model_version, s.probability, s.score, s.tier,
            s.cause, s.explanation,
        )
        for s in scores
    ]  # fmt: skip
    connection.exec_driver_sql(statement, rows)
    return len(rows)


def latest_explanations(connection: Connection, lead_ids: Sequence[str]) -> dict[str, str]:
    """The compact explanation of each lead's latest history row that has one (served by
    ``POST /score`` or stored), by lead id: what the next score is compared with."""
    wanted = sorted(set(lead_ids))
    found: dict[str, str] = {}
    for low in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[low : low + _LOOKUP_CHUNK]
        latest = (
            select(func.max(score_history.c.id))
            .where(score_history.c.lead_id.in_(chunk), score_history.c.explanation.is_not(None))
            .group_by(score_history.c.lead_id)
        )
        query = select(score_history.c.lead_id, score_history.c.explanation).where(
            score_history.c.id.in_(latest)
        )
        found.update({row.lead_id: row.explanation for row in connection.execute(query)})
    return found


def _newer(score: StoreScore, previous: dict[str, Any], refresh: bool) -> bool:
    revision = previous["revision"]
    assert score.revision is not None
    if score.revision != revision:
        return score.revision > revision
    if score.model_version != previous["model_version"]:
        return True
    return refresh and score.as_of > previous["as_of"]


def _score_fields(row: Any) -> dict[str, Any]:
    return {column.name: row[column.name] for column in current_scores.c}
