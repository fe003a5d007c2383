"""Plain-HTTP routes mounted next to the BentoML API: ``GET /model``, the score history of one
lead, the lead store's routes (:mod:`serving.store_routes`) and the sales page (static HTML +
JS, no external assets, and its example leads).

BentoML API methods are POST-only, so GET routes live in this small Starlette app; the
service instance is fetched per request through ``get_service`` (BentoML's current service).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib import resources
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from serving.example_leads import example_leads
from serving.lead_json import history_json
from serving.model_handle import ServedModel
from serving.reload import RegistryState
from serving.schemas import ModelInfo, RegistryInfo
from serving.store_routes import StoreBackend, build_store_routes
from serving.webhook_routes import AlertBackend, build_webhook_routes

MAX_HISTORY = 100


class WebBackend(StoreBackend, AlertBackend, Protocol):
    """What the routes need from the running service."""

    def registry_state(self) -> RegistryState: ...


def model_info(model: ServedModel, registry: RegistryState | None = None) -> ModelInfo:
    """The ``GET /model`` body for one served model (and the registry's state)."""
    return ModelInfo(
        name=model.name,
        alias=model.alias,
        version=model.version,
        trained_at=model.trained_at,
        holdout_metrics=dict(model.holdout_metrics),
        thresholds=dict(model.thresholds),
        loaded_at=model.loaded_at,
        kind=model.kind,
        cold_start_reason=model.cold_start_reason,
        registry=None if registry is None else RegistryInfo.model_validate(registry.as_json()),
    )


def _static(name: str, media_type: str) -> Response:
    text = resources.files("serving").joinpath("static", name).read_text(encoding="utf-8")
    return Response(text, media_type=media_type, headers={"cache-control": "no-cache"})


def build_web_app(get_service: Callable[[], WebBackend]) -> Starlette:
    """Build the Starlette app; ``get_service`` is called per request, never at build time."""

    async def model_route(_: Request) -> Response:
        service = get_service()
        info = model_info(service.served_model(), service.registry_state())
        return JSONResponse(info.model_dump(mode="json"))

    async def history_route(request: Request) -> Response:
        lead_id = request.path_params["lead_id"]
        raw_limit = request.query_params.get("limit", "20")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_HISTORY:
            return JSONResponse(
                {"error": "invalid request", "detail": [f"limit: integer 1..{MAX_HISTORY}"]},
                status_code=422,
            )
        log = get_service().score_log()
        # Waits a moment for this process's pending rows, never for a locked database.
        rows = await asyncio.to_thread(log.history, lead_id, int(raw_limit))
        return JSONResponse({"lead_id": lead_id, "scores": [history_json(row) for row in rows]})

    async def page_route(_: Request) -> Response:
        return _static("sales.html", "text/html; charset=utf-8")

    async def script_route(_: Request) -> Response:
        return _static("sales.js", "text/javascript; charset=utf-8")

    async def lead_script_route(_: Request) -> Response:
        return _static("lead.js", "text/javascript; charset=utf-8")

    async def hot_script_route(_: Request) -> Response:
        return _static("hot.js", "text/javascript; charset=utf-8")

    async def examples_route(_: Request) -> Response:
        # Dated when asked, so "requested a demo yesterday" stays yesterday.
        return JSONResponse(example_leads(), headers={"cache-control": "no-store"})

    return Starlette(
        routes=[
            Route("/model", model_route, methods=["GET"]),
            Route("/history/{lead_id:str}", history_route, methods=["GET"]),
            Route("/sales", page_route, methods=["GET"]),
            Route("/sales/app.js", script_route, methods=["GET"]),
            Route("/sales/lead.js", lead_script_route, methods=["GET"]),
            Route("/sales/examples.json", examples_route, methods=["GET"]),
            *build_store_routes(get_service),
            Route("/sales/hot.js", hot_script_route, methods=["GET"]),
            *build_webhook_routes(get_service),
        ]
    )


def web_routes() -> list[BaseRoute]:
    """The routes of :func:`build_web_app` (their templates label metrics; never called)."""

    def no_service() -> WebBackend:
        raise RuntimeError("route templates only")

    return list(build_web_app(no_service).routes)
