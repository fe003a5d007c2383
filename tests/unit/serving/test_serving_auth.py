"""Bearer-key checks and the 401 middleware (no server: an in-process ASGI app)."""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from serving.auth import (
    ApiKeyMiddleware,
    MissingApiKeysError,
    bearer_token,
    is_authorized,
    require_keys,
)

KEYS = ("alpha-key", "beta-key")


def _client() -> TestClient:
    async def ok(_: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/score", ok, methods=["POST"]), Route("/livez", ok)])
    return TestClient(ApiKeyMiddleware(app, keys_loader=lambda: KEYS))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer alpha-key", "alpha-key"),
        ("bearer   beta-key ", "beta-key"),
        ("Basic alpha-key", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_parses_only_bearer_scheme(header: str | None, expected: str | None) -> None:
    assert bearer_token(header) == expected


def test_is_authorized_accepts_each_configured_key_and_nothing_else() -> None:
    assert is_authorized("Bearer alpha-key", KEYS)
    assert is_authorized("Bearer beta-key", KEYS)
    assert not is_authorized("Bearer alpha-ke", KEYS)
    assert not is_authorized("Bearer alpha-key-x", KEYS)
    assert not is_authorized("alpha-key", KEYS)


def test_require_keys_refuses_to_start_without_keys() -> None:
    with pytest.raises(MissingApiKeysError, match="LEADSCORE_API_KEYS"):
        require_keys(["", ""])
    assert require_keys(["", "k"]) == ("k",)


def test_middleware_returns_401_without_or_with_wrong_key() -> None:
    client = _client()
    missing = client.post("/score")
    wrong = client.post("/score", headers={"Authorization": "Bearer nope"})
    assert missing.status_code == wrong.status_code == 401
    assert "authorization" in missing.json()["detail"][0]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "nope" not in wrong.text


def test_middleware_passes_valid_key_and_leaves_health_open() -> None:
    client = _client()
    assert client.post("/score", headers={"Authorization": "Bearer beta-key"}).text == "ok"
    assert client.get("/livez").status_code == 200


def test_keys_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = _client()
    client.post("/score", headers={"Authorization": "Bearer alpha-key"})
    client.post("/score", headers={"Authorization": "Bearer wrong-secret"})
    assert "alpha-key" not in caplog.text
    assert "wrong-secret" not in caplog.text
