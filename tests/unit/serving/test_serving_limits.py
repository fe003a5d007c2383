"""Request limits and 4xx messages that name the field (schemas + ASGI middlewares)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from serving.limits import (
    MAX_EVENTS_PER_LEAD,
    BodyLimitMiddleware,
    ValidationErrorMiddleware,
    describe_errors,
    format_location,
    rewrite_validation_body,
)
from serving.schemas import ScoreRequest

EVENT = {"event_type": "web_visit", "occurred_at": "2026-01-01T00:00:00Z"}


def _lines(payload: dict[str, object]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        ScoreRequest.model_validate(payload)
    return describe_errors(info.value.errors())


def test_format_location_renders_paths() -> None:
    assert format_location(("leads", 3, "events", 7, "occurred_at")) == (
        "leads[3].events[7].occurred_at"
    )
    assert format_location(()) == "body"


def test_naive_timestamp_is_rejected_naming_the_field() -> None:
    lead = {"lead_id": "a", "events": [EVENT, {**EVENT, "occurred_at": "2026-01-01T00:00"}]}
    lines = _lines({"leads": [{"lead_id": "x"}, lead]})
    assert len(lines) == 1
    assert lines[0].startswith("leads[1].events[1].occurred_at:")
    assert "timezone" in lines[0]


def test_malformed_timestamp_is_rejected() -> None:
    lines = _lines({"leads": [{"lead_id": "x", "as_of": "yesterday"}]})
    assert lines[0].startswith("leads[0].as_of:")


def test_lead_count_bounds() -> None:
    assert _lines({"leads": []})[0].startswith("leads:")
    too_many = {"leads": [{"lead_id": str(i)} for i in range(1001)]}
    assert _lines(too_many)[0].startswith("leads:")
    assert len(ScoreRequest.model_validate({"leads": [{"lead_id": "1"}] * 1000}).leads) == 1000


def test_events_per_lead_and_explain_bounds() -> None:
    events = [EVENT] * (MAX_EVENTS_PER_LEAD + 1)
    assert _lines({"leads": [{"lead_id": "x", "events": events}]})[0].startswith("leads[0].events:")
    assert _lines({"leads": [{"lead_id": "x"}], "explain": 21})[0].startswith("explain:")
    assert _lines({"leads": [{"lead_id": "x"}], "explain": -1})[0].startswith("explain:")


def test_unknown_fields_rejected_but_unknown_attributes_and_categories_accepted() -> None:
    assert _lines({"leads": [{"lead_id": "x", "colour": "red"}]})[0].startswith("leads[0].colour:")
    request = ScoreRequest.model_validate(
        {"leads": [{"lead_id": "x", "attributes": {"industry": "never-seen", "made_up": 3}}]}
    )
    assert request.leads[0].attributes == {"industry": "never-seen", "made_up": 3}
    assert request.explain == 5


def _echo_app() -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        if body == b"bad":
            return JSONResponse(
                {
                    "error": "1 validation error",
                    "detail": [{"loc": ["leads", 2, "lead_id"], "msg": "Field required"}],
                },
                status_code=400,
            )
        return JSONResponse({"size": len(body)})

    return Starlette(routes=[Route("/score", echo, methods=["POST"])])


def test_body_limit_returns_413_and_replays_small_bodies() -> None:
    client = TestClient(BodyLimitMiddleware(_echo_app(), max_bytes=1000))
    assert client.post("/score", content=b"x" * 1000).json() == {"size": 1000}
    refused = client.post("/score", content=b"x" * 1001)
    assert refused.status_code == 413
    assert refused.json()["detail"][0].startswith("body:")

    def chunks():  # no content-length: counted while streaming
        for _ in range(5):
            yield b"y" * 300

    assert client.post("/score", content=chunks()).status_code == 413


def test_validation_400_becomes_422_naming_the_field() -> None:
    client = TestClient(ValidationErrorMiddleware(_echo_app(), paths=("/score",)))
    response = client.post("/score", content=b"bad")
    assert response.status_code == 422
    assert response.json()["detail"] == ["leads[2].lead_id: Field required"]
    assert client.post("/score", content=b"fine").status_code == 200


def test_rewrite_handles_bentoml_tuple_bodies_and_garbage() -> None:
    tupled = rewrite_validation_body(json.dumps([{"error": "bad media type"}]).encode())
    assert tupled["detail"] == ["body: bad media type"]
    named = rewrite_validation_body(json.dumps([{"error": "leads: lead 'x': bad"}]).encode())
    assert named["detail"] == ["leads: lead 'x': bad"]
    assert rewrite_validation_body(b"not json")["detail"] == ["body: could not be parsed"]
