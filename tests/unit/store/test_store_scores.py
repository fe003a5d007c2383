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
