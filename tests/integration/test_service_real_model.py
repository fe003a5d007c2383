"""The service on a really trained champion: same numbers as the MLflow pyfunc.

Trains a small model on a simulated CRM (about a minute), registers it as champion and
compares the HTTP answers with ``mlflow.pyfunc.load_model(...).predict`` on the same leads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving_support import AUTH, RunningService, register_trained, run_service, tracking_uri

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("serving")]

AS_OF = "2026-03-01T00:00:00Z"


def _leads() -> list[dict]:
    hot = [
        {"event_type": "pricing_page_view", "occurred_at": "2026-02-25T10:00:00Z"},
        {"event_type": "demo_request", "occurred_at": "2026-02-26T09:30:00+01:00"},
        {"event_type": "email_click", "occurred_at": "2026-02-10T08:00:00Z"},
        {"event_type": "a_brand_new_event_type", "occurred_at": "2026-02-27T08:00:00Z"},
        {"event_type": "web_visit", "occurred_at": "2026-03-05T08:00:00Z"},  # after as_of
    ]
    return [
        {"lead_id": "hot", "as_of": AS_OF, "attributes": {"industry": "software"}, "events": hot},
        {"lead_id": "cold", "as_of": AS_OF, "attributes": {}, "events": []},
        {
            "lead_id": "odd",
            "as_of": AS_OF,
            "created_at": "2025-06-01T00:00:00Z",
            "attributes": {"industry": "an-unseen-industry", "country": None},
            "events": hot[:2],
        },
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    store = tmp_path_factory.mktemp("real-model")
    return store, register_trained(store)


@pytest.fixture(scope="module")
def service(trained: tuple[Path, str]) -> Iterator[RunningService]:
    with run_service(trained[0]) as running:
        yield running


def test_http_scores_equal_the_pyfunc(service: RunningService, trained: tuple[Path, str]) -> None:
    import mlflow

    from models.pyfunc import leads_to_frame
    from models.registry import client_for
    from models.schema import LeadIn

    store, version = trained
    response = httpx.post(
        f"{service.url}/score", json={"leads": _leads(), "explain": 5}, headers=AUTH, timeout=60
    )
    assert response.status_code == 200, response.text
    served = response.json()
    assert served["model_version"] == version

    uri = client_for(tracking_uri(store)).get_model_version_download_uri("leadscore", version)
    pyfunc = mlflow.pyfunc.load_model(uri)
    model = pyfunc.unwrap_python_model().model
    attributes = [f.name for f in model.spec.of_family("attribute")]
    frame = leads_to_frame([LeadIn.model_validate(lead) for lead in _leads()], attributes)
    expected = pyfunc.predict(frame, params={"explain_k": 5})

    assert [s["lead_id"] for s in served["scores"]] == list(expected["lead_id"])
    for got, (_, want) in zip(served["scores"], expected.iterrows(), strict=True):
        assert got["probability"] == pytest.approx(float(want["probability"]), rel=1e-9)
        assert got["score"] == int(want["score"])
        assert got["tier"] == want["tier"]
        assert got["sales_ready"] == bool(want["sales_ready"])
        assert got["fit"] == pytest.approx(float(want["fit"]))
        assert got["engagement"] == pytest.approx(float(want["engagement"]))
        want_reasons = json.loads(want["reasons"])
        assert len(got["reasons"]) == 5
        assert [r["sentence"] for r in got["reasons"]] == [r["sentence"] for r in want_reasons]
        assert [r["impact"] for r in got["reasons"]] == pytest.approx(
            [r["impact"] for r in want_reasons]
        )
    hot, cold = served["scores"][0], served["scores"][1]
    assert hot["probability"] > cold["probability"]  # engagement matters to a trained model


def test_model_route_reports_the_trained_metadata(
    service: RunningService, trained: tuple[Path, str]
) -> None:
    info = httpx.get(f"{service.url}/model", headers=AUTH).json()
    assert info["version"] == trained[1]
    assert 0.5 < info["holdout_metrics"]["roc_auc"] <= 1.0
    assert {"sales_ready", "tiers"} <= set(info["thresholds"])
    assert info["kind"] == "lightgbm" and info["cold_start_reason"] is None


def test_undeclared_attribute_and_impossible_dates_are_422(service: RunningService) -> None:
    typo = {"lead_id": "t", "as_of": AS_OF, "attributes": {"industri": "software"}}
    backwards = {"lead_id": "b", "as_of": AS_OF, "created_at": "2026-04-01T00:00:00Z"}
    bad_flag = {"lead_id": "f", "as_of": AS_OF, "attributes": {"is_customer": "maybe"}}
    for lead, starts in (
        (typo, "leads[1].attributes: ['industri'] are not model attributes"),
        (backwards, "leads[1].created_at: 2026-04-01T00:00:00+00:00 is after as_of"),
        (bad_flag, "leads[1].attributes.is_customer: expected true/false"),
    ):
        # The second lead of the batch is the bad one: the 422 names it by position.
        body = {"leads": [{"lead_id": "ok", "as_of": AS_OF}, lead]}
        response = httpx.post(f"{service.url}/score", json=body, headers=AUTH)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0].startswith(starts), response.text


def test_reasons_carry_points_and_a_second_score_says_what_changed(
    service: RunningService,
) -> None:
    lead = {**_leads()[0], "lead_id": "again"}

    def score(body: dict) -> dict:
        response = httpx.post(
            f"{service.url}/score", json={"leads": [body], "explain": 20}, headers=AUTH, timeout=60
        )
        assert response.status_code == 200, response.text
        return response.json()["scores"][0]

    first = score(lead)
    assert first["changes"] is None  # never scored before
    assert first["horizon_days"] == 90 and 0 < first["base_probability"] < 1
    # Points are the log-odds impacts on one scale per lead (proportional attribution).
    # (Both are rounded to 1e-4: only impacts large enough for a ratio to 1 % are compared.)
    ratios = [r["points"] / r["impact"] for r in first["reasons"] if abs(r["impact"]) > 0.02]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-2)
    # Every intent behaviour the model uses is one grouped reason, in words, with its values.
    intent = {r["feature"] for r in first["reasons"]} & {"pricing_page_view", "demo_request"}
    assert intent
    for reason in first["reasons"]:
        if reason["feature"] == "pricing_page_view":
            assert reason["sentence"].startswith("Viewed the pricing page") and reason["values"]
        if reason["feature"] == "demo_request":
            assert reason["sentence"].startswith("Requested a demo") and reason["values"]

    # "What changed" compares with the lead's last recorded score. The service runs two
    # workers and each writes its served scores within its log interval: the second request
    # may reach the other worker, so it is sent once the first score is in the store.
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and not httpx.get(f"{service.url}/history/again", headers=AUTH).json()["scores"]
    ):
        time.sleep(0.1)
    later = {
        **lead,
        "as_of": "2026-03-04T00:00:00Z",
        "events": [
            *lead["events"],
            {"event_type": "form_submit", "occurred_at": "2026-03-03T12:00:00Z"},
        ],
    }
    second = score(later)
    changes = second["changes"]
    assert changes["previous_probability"] == pytest.approx(first["probability"])
    assert changes["previous_as_of"].startswith("2026-03-01")
    assert [c["kind"] for c in changes["causes"]] == ["new_events", "time_passed"]
    assert changes["causes"][0]["text"] == "1 new event since the last score"
    moved = {r["feature"]: r for r in changes["reasons"]}
    assert changes["reasons"][0]["feature"] == "form_submit"
    form = moved["form_submit"]
    assert form["sentence"] == "Submitted a form today"  # 12 hours before as_of
    assert form["points_after"] > form["points_before"]


def test_a_stored_lead_scores_as_the_same_lead_sent_whole(service: RunningService) -> None:
    """The store's scoring path (the bundle's online engine on the stored arrays, the account
    roll-up from the store) gives what POST /score gives for the lead sent whole."""
    from datetime import UTC, datetime, timedelta

    recent = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    messages = [
        {"type": "identify", "userId": "kept-1", "traits": {"industry": "software"},
         "timestamp": "2026-01-05T09:00:00Z"},
        {"type": "group", "userId": "kept-1", "groupId": "acct-1"},
        {"type": "group", "userId": "kept-2", "groupId": "acct-1"},
        {"type": "track", "userId": "kept-2", "event": "Web Visit", "timestamp": recent},
        *({"type": "track", "userId": "kept-1", "event": e["event_type"], "timestamp": e["occurred_at"]}
          for e in _leads()[0]["events"][:4]),
    ]  # fmt: skip
    sent = httpx.post(f"{service.url}/v1/batch", json={"batch": messages}, headers=AUTH)
    assert sent.status_code == 200, sent.text
    stored = httpx.get(f"{service.url}/leads/kept-1", headers=AUTH, timeout=60).json()
    whole = {
        "lead_id": "kept-1", "as_of": stored["score"]["as_of"], "created_at": stored["created_at"],
        "attributes": {"industry": "software"}, "account_engaged_colleagues_30d": 1,
        "events": [{"event_type": e["event_type"], "occurred_at": e["occurred_at"]} for e in stored["events"]],
    }  # fmt: skip
    scored = httpx.post(f"{service.url}/score", json={"leads": [whole]}, headers=AUTH).json()
    expected = scored["scores"][0]
    # kept-2 visited two days ago: one engaged colleague at the account, counted by the store.
    for name in ("probability", "score", "tier", "fit", "engagement", "reasons"):
        assert stored["score"][name] == expected[name], name


def test_a_stored_lead_says_what_changed_since_its_previous_stored_score(
    service: RunningService,
) -> None:
    """GET /leads/{id} after new events: the score computed for the read compares with the
    lead's previous stored score (its compact explanation in the store), and keeps saying so
    once stored; the sales page shows the same ``changes``."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    first_events = [
        {"id": "chg-1", "lead_id": "changing", "event_type": "web_visit",
         "occurred_at": (now - timedelta(days=20)).isoformat()},
    ]  # fmt: skip
    lead = {"lead_id": "changing", "attributes": {"industry": "software"},
            "created_at": (now - timedelta(days=60)).isoformat()}  # fmt: skip
    assert httpx.post(f"{service.url}/leads", json={"leads": [lead]}, headers=AUTH).is_success
    assert httpx.post(
        f"{service.url}/events", json={"events": first_events}, headers=AUTH
    ).is_success
    # The background rescorer may have scored the lead before its event came: a first read
    # then already says what changed. Wait until reads answer the stored, up-to-date score.
    first = _settled_score(service, "changing")
    assert first["horizon_days"] == 90 and 0 < first["base_probability"] < 1
    intent = [
        {"id": f"chg-{i}", "lead_id": "changing", "event_type": kind,
         "occurred_at": (now - timedelta(hours=hours)).isoformat()}
        for i, (kind, hours) in enumerate((("pricing_page_view", 30), ("form_submit", 5)), 2)
    ]  # fmt: skip
    assert httpx.post(f"{service.url}/events", json={"events": intent}, headers=AUTH).is_success
    second = httpx.get(f"{service.url}/leads/changing", headers=AUTH, timeout=60).json()["score"]
    changes = second["changes"]
    assert changes["previous_probability"] == pytest.approx(first["probability"])
    assert datetime.fromisoformat(changes["previous_as_of"]) == datetime.fromisoformat(
        first["as_of"]
    )
    assert changes["causes"][0] == {
        "kind": "new_events",
        "text": "2 new events since the last score",
    }
    moved = {r["feature"]: r for r in changes["reasons"]}
    assert moved["form_submit"]["sentence"] == "Submitted a form today"
    assert moved["form_submit"]["points_after"] > moved["form_submit"]["points_before"]
    # Stored by the background writer: later reads answer what changed from the store.
    stored = _settled_score(service, "changing")
    if stored["as_of"] == second["as_of"]:  # the read's score is the one stored
        assert stored["changes"]["previous_as_of"] == changes["previous_as_of"]
        assert stored["changes"]["reasons"][0]["feature"] == changes["reasons"][0]["feature"]
    else:
        # The background rescorer stored a score of its own (it races the read's writer): it
        # says what changed since the score stored before it, never an older one.
        before = datetime.fromisoformat(stored["changes"]["previous_as_of"])
        assert before >= datetime.fromisoformat(changes["previous_as_of"])


def _settled_score(service: RunningService, lead_id: str) -> dict:
    """The lead's stored current score, once reads answer it (two reads in a row give the
    same ``scored_at``: no read scored the lead anew)."""
    deadline, previous = time.monotonic() + 20, None
    while time.monotonic() < deadline:
        score = httpx.get(f"{service.url}/leads/{lead_id}", headers=AUTH, timeout=60).json()[
            "score"
        ]
        if previous is not None and score["scored_at"] == previous["scored_at"]:
            return score
        previous = score
        time.sleep(0.2)
    raise AssertionError(f"{lead_id}: reads kept scoring the lead anew for 20 s")
