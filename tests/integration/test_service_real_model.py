"""The service on a really trained champion: same numbers as the MLflow pyfunc.

Trains a small model on a simulated CRM (about a minute), registers it as champion and
compares the HTTP answers with ``mlflow.pyfunc.load_model(...).predict`` on the same leads.
"""

from __future__ import annotations

import json
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
    for lead, needle in ((typo, "industri"), (backwards, "created_at")):
        response = httpx.post(f"{service.url}/score", json={"leads": [lead]}, headers=AUTH)
        assert response.status_code == 422, response.text
        line = response.json()["detail"][0]
        assert line.startswith("leads:") and needle in line


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
