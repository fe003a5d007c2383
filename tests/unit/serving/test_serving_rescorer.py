"""The background rescorer keeps stored scores current: changed leads first, every lead when
the champion moves (reads keep answering meanwhile), one rescorer per store; on SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from models.schema import LeadIn, ScoreOut
from serving.model_handle import ServedModel
from serving.rescorer import BackgroundRescorer
from store.lead_store import LeadStore
from store.records import EventRecord, IngestBatch, LeadUpdate, to_micros

T0 = to_micros(datetime(2026, 1, 1, tzinfo=UTC))


class CountingScorer:
    """probability = events / 10 (capped); refuses leads whose id starts with 'bad'."""

    def score_leads(self, leads: list[LeadIn], explain_k: int) -> list[ScoreOut]:
        if any(lead.lead_id.startswith("bad") for lead in leads):
            raise ValueError("leads: refused")
        return [self._one(lead) for lead in leads]

    @staticmethod
    def _one(lead: LeadIn) -> ScoreOut:
        n = min(len(lead.events), 9)
        return ScoreOut(
            lead_id=lead.lead_id, as_of=lead.as_of, probability=n / 10, score=max(1, n * 10),
            tier="C", sales_ready=False, fit=0.0, engagement=0.0, reasons=[],
            model_version="artifact",
        )  # fmt: skip


def _model(version: str) -> ServedModel:
    return ServedModel(
        name="leadscore", alias="champion", version=version, scorer=CountingScorer(),
        trained_at=None, holdout_metrics={}, thresholds={}, loaded_at=datetime.now(UTC),
    )  # fmt: skip


def _fill(store: LeadStore, n: int) -> None:
    store.ingest(
        IngestBatch(
            leads=[LeadUpdate(f"L{i}", T0, "b") for i in range(n)],
            events=[EventRecord(f"L{i}", T0 + j, "web_visit", "e") for i in range(n) for j in range(i % 4)],
        )
    )  # fmt: skip


def test_changed_leads_then_every_lead_after_a_champion_change(lead_store: LeadStore) -> None:
    _fill(lead_store, 12)
    served = {"model": _model("1")}
    rescorer = BackgroundRescorer(
        lead_store, lambda: served["model"], interval=0.05, refresh_hours=0, explain=3, batch=5
    )
    steps = []
    while (step := rescorer.step())[1]:
        steps.append(step)
    assert steps == [("change", 5), ("change", 5), ("change", 2)]
    assert lead_store.lead_view("L3")["score"]["probability"] == 0.3
    lead_store.ingest(IngestBatch(events=[EventRecord("L3", T0 + 99, "demo_request", "e")]))
    assert rescorer.step() == ("change", 1)
    assert lead_store.lead_view("L3")["score"]["probability"] == 0.4
    # The champion moves: every lead is rescored, a batch at a time; leads not reached yet
    # still answer with the old version's score.
    served["model"] = _model("2")
    assert rescorer.step() == ("model", 5)
    versions = [lead_store.lead_view(f"L{i}")["score"]["model_version"] for i in range(12)]
    assert versions.count("2") == 5 and versions.count("1") == 7
    while rescorer.step()[1]:
        pass
    assert {lead_store.lead_view(f"L{i}")["score"]["model_version"] for i in range(12)} == {"2"}
    assert rescorer.rescored == 12 + 1 + 12


def test_a_lead_the_model_refuses_does_not_hold_up_the_others(
    lead_store: LeadStore, caplog
) -> None:
    _fill(lead_store, 3)
    lead_store.ingest(IngestBatch(leads=[LeadUpdate("bad-1", T0, "b")]))
    rescorer = BackgroundRescorer(
        lead_store, lambda: _model("1"), interval=0.05, refresh_hours=0, explain=3
    )
    rescorer.step()
    assert all(lead_store.lead_view(f"L{i}")["score"] is not None for i in range(3))
    assert lead_store.lead_view("bad-1")["score"] is None
    assert "refused 1 stored leads" in caplog.text


def test_one_rescorer_per_store(lead_store: LeadStore, store_url: str) -> None:
    _fill(lead_store, 4)
    other = LeadStore.open(store_url, "demo", upgrade=False)  # another worker's connection
    rescorers = [
        BackgroundRescorer(s, lambda: _model("1"), interval=0.05, refresh_hours=24, explain=3)
        for s in (lead_store, other)
    ]
    try:
        for rescorer in rescorers:
            rescorer.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and lead_store.leads_to_rescore("1", None, 10)[1]:
            time.sleep(0.05)
        time.sleep(0.5)
        assert [r.is_leader for r in rescorers].count(True) == 1
        assert sum(r.rescored for r in rescorers) == 4
        # The leader stops: the other takes over.
        leader = next(r for r in rescorers if r.is_leader)
        leader.stop()
        follower = next(r for r in rescorers if r is not leader)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not follower.is_leader:
            time.sleep(0.05)
        assert follower.is_leader
    finally:
        for rescorer in rescorers:
            rescorer.stop()
        other.close()
