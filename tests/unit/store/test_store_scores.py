"""Current scores and score history: which score wins, what a change writes, erasure and the
rescoring queues, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from store import score_records
from store.lead_store import LeadStore
from store.records import EventRecord, IngestBatch, LeadUpdate
from store.score_records import StoreScore
from store.tables import current_scores, score_history

T0 = 1_767_225_600_000_000
HOUR = 3_600 * 1_000_000


def _score(lead: str, revision: int | None, version: str = "1", at: int = T0, p: float = 0.5):
    return StoreScore(
        lead_id=lead, as_of=at, scored_at=at, model_version=version, probability=p,
        score=int(p * 100), tier="B", sales_ready=False, fit=10.0, engagement=20.0,
        reasons=[{"feature": "x", "sentence": "Visited"}], revision=revision,
    )  # fmt: skip


def _history(store: LeadStore, lead: str) -> list[tuple]:
    with store.db.read() as connection:
        query = (
            select(
                score_history.c.model_version, score_history.c.probability, score_history.c.cause
            )
            .where(score_history.c.lead_id == lead)
            .order_by(score_history.c.id)
        )
        return [tuple(row) for row in connection.execute(query)]


def _revision(store: LeadStore, lead: str) -> int:
    return store.lead_view(lead)["revision"]


def test_a_score_replaces_the_stored_one_only_when_it_is_newer(lead_store: LeadStore) -> None:
    lead_store.ingest(IngestBatch(leads=[LeadUpdate("L1", T0, "b", {"industry": "software"})]))
    revision = _revision(lead_store, "L1")
    assert len(lead_store.record_scores([_score("L1", revision, p=0.4)])) == 1
    view = lead_store.lead_view("L1")
    assert view["score"]["probability"] == 0.4 and not view["needs_score"]
    # Two workers that scored the same revision with the same model: stored once.
    assert lead_store.record_scores([_score("L1", revision, p=0.4)]) == []
    # A score of an older revision never replaces a newer one.
    lead_store.ingest(IngestBatch(events=[EventRecord("L1", T0, "demo_request", "e")]))
    newer = _revision(lead_store, "L1")
    assert lead_store.lead_view("L1")["needs_score"]
    assert len(lead_store.record_scores([_score("L1", newer, p=0.7)])) == 1
    assert lead_store.record_scores([_score("L1", revision, p=0.1)]) == []
    # Another model version replaces it (the champion moved); a refresh only when later.
    assert len(lead_store.record_scores([_score("L1", newer, version="2", p=0.6)])) == 1
    later = _score("L1", newer, version="2", at=T0 + HOUR, p=0.65)
    assert lead_store.record_scores([later]) == []
    assert len(lead_store.record_scores([later], refresh=True)) == 1
    assert _history(lead_store, "L1") == [
        ("1", 0.4, "change"), ("1", 0.7, "change"), ("2", 0.6, "change"), ("2", 0.65, "change"),
    ]  # fmt: skip


def test_the_rescorer_takes_the_longest_waiting_leads_first(lead_store: LeadStore) -> None:
    sent: list[str] = []

    def event(lead: str) -> None:
        sent.append(lead)
        lead_store.ingest(IngestBatch(events=[EventRecord(lead, T0, "web_visit", f"e{len(sent)}")]))

    for lead in ("Z1", "A1"):
        event(lead)
    lead_store.record_scores([_score(lead, _revision(lead_store, lead)) for lead in ("Z1", "A1")])
    event("A1")  # A1 waits from here,
    event("Z1")
    event("A1")  # and keeps its place when it changes again (a busy lead is not starved).
    lead_store.ingest(IngestBatch(leads=[LeadUpdate("B0", T0, "b", {"industry": "software"})]))
    assert lead_store.leads_to_rescore("1", None, 10) == ("change", ["A1", "Z1", "B0"])
    assert lead_store.leads_to_rescore("1", None, 2) == ("change", ["A1", "Z1"])


def test_a_score_computed_before_a_change_leaves_the_lead_waiting(lead_store: LeadStore) -> None:
    lead_store.ingest(IngestBatch(events=[EventRecord("L1", T0, "web_visit", "e")]))
    seen = _revision(lead_store, "L1")
    lead_store.ingest(IngestBatch(events=[EventRecord("L1", T0 + 1, "web_visit", "e")]))
    lead_store.record_scores([_score("L1", seen)])  # stored: it is what was served
    view = lead_store.lead_view("L1")
    assert view["score"]["revision"] == seen < view["revision"]
    assert view["needs_score"]  # still due: the rescorer picks it up
    cause, due = lead_store.leads_to_rescore("1", None, 10)
    assert (cause, due) == ("change", ["L1"])


def test_the_change_step_shares_the_write_transaction(lead_store: LeadStore) -> None:
    """History rows (and whatever else follows a score change) commit with the score or not
    at all."""
    lead_store.ingest(IngestBatch(leads=[LeadUpdate("L1", T0, "b")]))
    revision = _revision(lead_store, "L1")
    with pytest.raises(RuntimeError), lead_store.db.write() as connection:
        changes = score_records.record_scores(connection, [_score("L1", revision)])
        assert [c.lead_id for c in changes] == ["L1"] and changes[0].previous is None
        raise RuntimeError("the transaction fails after the change step")
    assert lead_store.lead_view("L1")["score"] is None
    assert _history(lead_store, "L1") == []


def test_scores_of_leads_not_stored_go_to_the_history_only(lead_store: LeadStore) -> None:
    served = dataclasses.replace(_score("walk-in", None), cause="request")
    assert lead_store.record_scores([served]) == []
    assert lead_store.append_history([served]) == 1
    assert _history(lead_store, "walk-in") == [("1", 0.5, "request")]
    # A lead erased after it was scored: its late score is dropped, not resurrected.
    assert lead_store.record_scores([_score("erased", 1)]) == []


def test_erasure_removes_everything_about_the_lead(lead_store: LeadStore) -> None:
    lead_store.ingest(
        IngestBatch(
            leads=[LeadUpdate("L1", T0, "b", {"industry": "software"}), LeadUpdate("L2", T0, "b")],
            events=[EventRecord("L1", T0, "web_visit", "e", key="m1")] * 1
            + [EventRecord("L1", T0 + 1, "demo_request", "e"), EventRecord("L2", T0, "web_visit", "e")],
        )
    )  # fmt: skip
    lead_store.record_scores([_score("L1", _revision(lead_store, "L1"))])
    lead_store.append_history([dataclasses.replace(_score("L1", None), cause="request")])
    removed = lead_store.erase("L1")
    assert removed == {
        "events": 2, "deals": 0, "current_scores": 1, "score_history": 2, "alert_events": 0,
        "lead_alert_states": 0, "leads": 1,
    }  # fmt: skip
    assert lead_store.lead_view("L1") is None
    assert lead_store.lead_view("L2") is not None  # the other lead is untouched
    # The erased lead's messageId is gone too: nothing of it is kept.
    again = lead_store.ingest(
        IngestBatch(events=[EventRecord("L1", T0, "web_visit", "e", key="m1")])
    )
    assert again.events_stored == 1
    assert lead_store.erase("nobody") == dict.fromkeys(removed, 0)


def test_rescoring_queues_take_changed_leads_then_other_models_then_old_scores(
    lead_store: LeadStore,
) -> None:
    lead_store.ingest(IngestBatch(leads=[LeadUpdate(f"L{i}", T0, "b") for i in range(4)]))
    assert lead_store.leads_to_rescore("1", None, 10) == ("change", ["L0", "L1", "L2", "L3"])
    lead_store.record_scores(
        [_score(f"L{i}", 1, version="1" if i < 2 else "2", at=T0 + i * HOUR) for i in range(4)]
    )
    cause, due = lead_store.leads_to_rescore("2", None, 10)
    assert (cause, sorted(due)) == ("model", ["L0", "L1"])
    lead_store.record_scores([_score(f"L{i}", 1, version="2", at=T0 + i * HOUR) for i in (0, 1)])
    assert lead_store.leads_to_rescore("2", None, 10) == ("refresh", [])
    assert lead_store.leads_to_rescore("2", T0 + 2 * HOUR, 10) == ("refresh", ["L0", "L1"])
    with lead_store.db.read() as connection:
        assert connection.execute(select(func.count()).select_from(current_scores)).scalar() == 4


def test_scores_keep_their_explanation_and_the_latest_one_is_found(lead_store: LeadStore) -> None:
    """Every score's compact explanation goes into its history row (and the current score,
    with the ``changes`` it was served with); the next score compares with the lead's latest."""
    lead_store.ingest(IngestBatch(leads=[LeadUpdate("L1", T0, "b"), LeadUpdate("L2", T0, "b")]))
    first = dataclasses.replace(_score("L1", None), cause="request", explanation='{"n":1}')
    lead_store.append_history([first, dataclasses.replace(first, lead_id="L2")])
    changes = {"previous_probability": 0.5, "causes": [], "reasons": []}
    stored = dataclasses.replace(
        _score("L1", _revision(lead_store, "L1")), explanation='{"n":2}', changes=changes
    )
    lead_store.record_scores([stored])
    # A later row without one (a model that gives no points) does not hide the latest.
    lead_store.append_history([dataclasses.replace(first, explanation=None)])
    assert lead_store.latest_explanations(["L1", "L2", "L3"]) == {"L1": '{"n":2}', "L2": '{"n":1}'}
    score = lead_store.lead_view("L1")["score"]
    assert (score["explanation"], score["changes"]) == ('{"n":2}', changes)
    many = [f"X{i}" for i in range(1_200)]  # more ids than one statement takes
    lead_store.append_history(
        [dataclasses.replace(first, lead_id=lead_id, explanation=lead_id) for lead_id in many]
    )
    found = lead_store.latest_explanations(many)
    assert len(found) == 1_200 and found["X1199"] == "X1199"


def test_migration_0002_keeps_scores_written_before_it(store_url: str) -> None:
    """A store at revision 0001 (before explanations) upgrades in place on both databases:
    its rows stay, with no explanation (their next score says nothing about what changed)."""
    from alembic import command

    from store.database import connect_store
    from store.migrate import alembic_config, current_revision

    db = connect_store(store_url)
    try:
        with db.write() as connection:
            command.upgrade(alembic_config(connection), "0001")
            connection.exec_driver_sql(
                "INSERT INTO score_history (lead_id, as_of, scored_at, model_version, "
                f"probability, score, tier, cause) VALUES ('old', {T0}, {T0}, '1', 0.2, 40, "
                "'C', 'request')"
            )
        assert current_revision(db) == "0001"
    finally:
        db.dispose()
    store = LeadStore.open(store_url, "demo")  # migrates to the head
    try:
        assert store.history("old", 5)[0]["probability"] == 0.2
        assert store.latest_explanations(["old"]) == {}
        store.append_history([dataclasses.replace(_score("old", None), explanation="{}")])
        assert store.latest_explanations(["old"]) == {"old": "{}"}
    finally:
        store.close()
