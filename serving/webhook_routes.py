"""Webhook subscriptions over HTTP (admin-scoped: ``/webhooks...``) and the sales page's
"just became hot" list (``GET /alerts/hot``, read scope).

``POST /webhooks`` answers the subscription with its signing secret, the only time it is
shown; every other answer masks credentials in the URL. ``POST /webhooks/{id}/test`` queues a
signed ``webhook.test`` delivery and waits (a few seconds at most) for its outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from serving.alert_worker import DeliveryWorker
from serving.lead_json import iso
from serving.store_routes import RequestError, _error, _guarded, _parse
from store.alert_store import AlertStore

MAX_LISTED = 500
TEST_WAIT_SECONDS = 15.0


class AlertBackend(Protocol):
    def alert_store(self) -> AlertStore: ...

    def delivery_worker(self) -> DeliveryWorker: ...


class SubscriptionIn(BaseModel):
    """The body of ``POST /webhooks``."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048, description="Where to POST alerts (http or https).")
    events: list[str] = Field(
        min_length=1, max_length=10, description="Alert types to receive (README: Alerts)."
    )
    min_tier: Literal["A", "B", "C", "D"] | None = Field(
        default=None, description="Only lead alerts of leads in this tier or better."
    )


def _shown(subscription: dict[str, Any]) -> dict[str, Any]:
    return subscription | {"created_at": iso(subscription["created_at"])}


def _delivery_json(row: dict[str, Any]) -> dict[str, Any]:
    return row | {
        "created_at": iso(row["created_at"]),
        "next_attempt_at": iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "delivered_at": iso(row["delivered_at"]),
    }


def _limit(request: Request, default: int) -> int:
    raw = request.query_params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LISTED:
        raise RequestError(422, "invalid request", [f"limit: integer 1..{MAX_LISTED}"])
    return int(raw)


def build_webhook_routes(get_service: Callable[[], AlertBackend]) -> list[Route]:
    """The routes; ``get_service`` is called per request, never at build time."""

    def alerts() -> AlertStore:
        return get_service().alert_store()

    async def found(subscription_id: str) -> dict[str, Any]:
        subscription = await asyncio.to_thread(alerts().subscription, subscription_id)
        if subscription is None:
            raise RequestError(
                404, "not found", [f"id: no webhook subscription {subscription_id!r}"]
            )
        return subscription

    async def create(request: Request) -> Response:
        body = _parse(SubscriptionIn, await request.body())
        made = await asyncio.to_thread(alerts().subscribe, body.url, body.events, body.min_tier)
        return JSONResponse(_shown(made), status_code=201)

    async def list_all(_: Request) -> Response:
        rows = await asyncio.to_thread(alerts().subscriptions)
        return JSONResponse({"webhooks": [_shown(row) for row in rows]})

    async def show(request: Request) -> Response:
        return JSONResponse(_shown(await found(request.path_params["id"])))

    async def remove(request: Request) -> Response:
        subscription_id = request.path_params["id"]
        if not await asyncio.to_thread(alerts().unsubscribe, subscription_id):
            return _error(404, "not found", [f"id: no webhook subscription {subscription_id!r}"])
        return JSONResponse({"id": subscription_id, "removed": True})

    async def test(request: Request) -> Response:
        subscription = await found(request.path_params["id"])
        store = alerts()
        event_id = await asyncio.to_thread(store.queue_test, subscription["id"])
        get_service().delivery_worker().wake()
        deadline = time.monotonic() + TEST_WAIT_SECONDS
        row = None
        while time.monotonic() < deadline:
            row = await asyncio.to_thread(store.delivery, subscription["id"], event_id)
            if row is not None and (row["status"] != "pending" or row["attempts"] > 0):
                break
            await asyncio.sleep(0.1)
        shown = None if row is None else _delivery_json(row)
        return JSONResponse({"event_id": event_id, "delivery": shown})

    async def replay(request: Request) -> Response:
        subscription = await found(request.path_params["id"])
        queued = await asyncio.to_thread(alerts().replay, subscription["id"])
        get_service().delivery_worker().wake()
        return JSONResponse({"id": subscription["id"], "queued": queued})

    async def deliveries(request: Request) -> Response:
        subscription = await found(request.path_params["id"])
        status = request.query_params.get("status")
        if status not in (None, "pending", "delivered", "dead"):
            raise RequestError(422, "invalid request", ["status: pending, delivered or dead"])
        rows = await asyncio.to_thread(
            alerts().deliveries, subscription["id"], _limit(request, 100), status
        )
        return JSONResponse(
            {"id": subscription["id"], "deliveries": [_delivery_json(row) for row in rows]}
        )

    async def hot(request: Request) -> Response:
        rows = await asyncio.to_thread(alerts().hot_leads, _limit(request, 20))
        return JSONResponse({"leads": rows})

    return [
        Route("/webhooks", _guarded(create), methods=["POST"]),
        Route("/webhooks", _guarded(list_all), methods=["GET"]),
        Route("/webhooks/{id:str}", _guarded(show), methods=["GET"]),
        Route("/webhooks/{id:str}", _guarded(remove), methods=["DELETE"]),
        Route("/webhooks/{id:str}/test", _guarded(test), methods=["POST"]),
        Route("/webhooks/{id:str}/replay", _guarded(replay), methods=["POST"]),
        Route("/webhooks/{id:str}/deliveries", _guarded(deliveries), methods=["GET"]),
        Route("/alerts/hot", _guarded(hot), methods=["GET"]),
    ]
