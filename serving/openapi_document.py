"""The OpenAPI document as the service really answers: every route, its status codes, the keys.

BentoML documents its ``@bentoml.api`` routes only (``POST /score``, the health probes) with
200/400/404/500, and no security scheme; the routes of the mounted Starlette app (``/model``,
``/history``, the sales page, the lead store's) are missing. :class:`OpenApiMiddleware` completes
BentoML's ``/docs.json`` with them (:func:`complete_document`), so clients, code generators and
schemathesis see the whole contract.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from serving import bulk_items, tracking_api
from serving.limits import ASGIApp, Message, Receive, Scope, Send
from serving.schemas import ModelInfo
from serving.webhook_routes import SubscriptionIn

DOCUMENT_PATH = "/docs.json"
_ERROR = {"$ref": "#/components/schemas/ErrorBody"}
_REASONS = {
    401: "No API key, or not one of the service's keys.",
    403: "The API key lacks the scope this route needs.",
    404: "No such lead in the store (or webhook subscription).",
    413: "The body is larger than the service accepts.",
    422: "Invalid input; one `field: message` line per problem in `detail`.",
    503: "The lead store cannot be reached; retry after `Retry-After` seconds.",
}
_SECURITY = [{"bearerAuth": []}, {"basicAuth": []}]
_BODIES: dict[str, type[BaseModel]] = {
    "/leads": bulk_items.LeadsBody,
    "/events": bulk_items.EventsBody,
    "/deals": bulk_items.DealsBody,
    "/v1/batch": tracking_api.BatchBody,
    "/v1/track": tracking_api.Message,
    "/v1/identify": tracking_api.Message,
    "/v1/group": tracking_api.Message,
}
_LEAD_ID = {"name": "lead_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_STATUS = {"name": "status", "in": "query", "required": False,
           "schema": {"type": "string", "enum": ["pending", "delivered", "dead"]}}  # fmt: skip


def _query(name: str, low: int, high: int) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": low, "maximum": high}
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _op(
    summary: str, ok: dict[str, Any], codes: tuple[int, ...], status: int = 200, **extra: Any
) -> dict[str, Any]:
    responses: dict[str, Any] = {str(status): {"description": "OK", "content": ok}}
    for code in codes:
        body = {"application/json": {"schema": _ERROR}}
        responses[str(code)] = {"description": _REASONS[code], "content": body}
    return {"summary": summary, "tags": ["Service APIs"], "responses": responses, **extra}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": _json({"$ref": f"#/components/schemas/{name}"})}


def _service_paths() -> dict[str, Any]:
    """The routes of the mounted app, as :mod:`serving.web` and :mod:`serving.store_routes`
    serve them."""
    read, store = (401, 403, 422), (401, 403, 422, 503)
    any_json = _json({"type": "object"})
    paths: dict[str, Any] = {
        "/model": {"get": _op("The model being served", _json({"$ref": "#/components/schemas/ModelInfo"}), (401, 403))},
        "/history/{lead_id}": {"get": _op("Scores served for one lead, newest first", any_json, read,
                                          parameters=[_LEAD_ID, _query("limit", 1, 100)])},
        "/leads/{lead_id}": {
            "get": _op("A stored lead: its current score, events and history", any_json, (*store, 404),
                       parameters=[_LEAD_ID, _query("events", 0, 500), _query("history", 0, 500)]),
            "delete": _op("Erase a lead and everything stored about it (scope admin)", any_json, store,
                          parameters=[_LEAD_ID]),
        },
        "/stats": {"get": _op("Counts of the lead store", any_json, (401, 403, 503))},
        "/sales": {"get": {"summary": "The sales page (HTML; asks for a key)", "security": [],
                           "responses": {"200": {"description": "OK", "content": {"text/html": {}}}}}},
    }  # fmt: skip
    paths.update(_webhook_paths(store, any_json))
    for path, model in _BODIES.items():
        summary = f"Ingest a {model.__name__} (scope ingest)"
        paths[path] = {
            "post": _op(summary, any_json, (*store, 413), requestBody=_body(model.__name__))
        }
    return paths


def _webhook_paths(codes: tuple[int, ...], any_json: dict[str, Any]) -> dict[str, Any]:
    """The routes of :mod:`serving.webhook_routes` (scope admin; ``/alerts/hot``: read)."""
    found = (*codes, 404)
    return {
        "/webhooks": {
            "post": _op("Subscribe a URL to alerts; the answer holds the signing secret, shown "
                        "only here (scope admin)", any_json, codes, status=201,
                        requestBody=_body("SubscriptionIn")),
            "get": _op("The subscriptions, credentials in URLs masked (scope admin)", any_json,
                       codes),
        },
        "/webhooks/{id}": {
            "get": _op("One subscription (scope admin)", any_json, found, parameters=[_ID]),
            "delete": _op("Remove a subscription and its pending deliveries (scope admin)",
                          any_json, found, parameters=[_ID]),
        },
        "/webhooks/{id}/test": {"post": _op(
            "Send a signed webhook.test delivery; answers its outcome (scope admin)", any_json,
            found, parameters=[_ID])},
        "/webhooks/{id}/replay": {"post": _op(
            "Queue the subscription's dead letters again (scope admin)", any_json, found,
            parameters=[_ID])},
        "/webhooks/{id}/deliveries": {"get": _op(
            "The subscription's latest deliveries, newest first (scope admin)", any_json, found,
            parameters=[_ID, _STATUS, _query("limit", 1, 500)])},
        "/alerts/hot": {"get": _op(
            "Leads that just became sales-ready or re-emerged, newest first (scope read)",
            any_json, codes, parameters=[_query("limit", 1, 500)])},
    }  # fmt: skip


def complete_document(document: dict[str, Any]) -> dict[str, Any]:
    """BentoML's document plus the missing routes, the real status codes and the keys."""
    out = copy.deepcopy(document)
    components = out.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, defs = models_json_schema(
        [(model, "validation") for model in {*_BODIES.values(), ModelInfo, SubscriptionIn}],
        ref_template="#/components/schemas/{model}",
    )
    schemas.update(defs.get("$defs", {}))
    schemas["ErrorBody"] = {
        "type": "object",
        "properties": {"error": {"type": "string"}, "detail": {"type": "array", "items": {"type": "string"}}},
        "required": ["error", "detail"],
    }  # fmt: skip
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key."},
        "basicAuth": {"type": "http", "scheme": "basic", "description": "An API key as user."},
    }
    out["security"] = _SECURITY
    paths = out.setdefault("paths", {})
    for path, item in paths.items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            if path in ("/livez", "/readyz", "/healthz", "/metrics"):
                operation["security"] = []
                continue
            responses = operation.setdefault("responses", {})
            for code in ("400", "404", "500"):  # BentoML's defaults: never answered here
                responses.pop(code, None)
            for code in (401, 403, 413, 422):
                responses[str(code)] = {
                    "description": _REASONS[code],
                    "content": {"application/json": {"schema": _ERROR}},
                }
            if path == "/readyz":
                responses["503"] = {"description": "Not ready (the reason in the body)."}
    paths.update(_service_paths())
    return out


class OpenApiMiddleware:
    """Answer ``GET /docs.json`` with :func:`complete_document` of BentoML's answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != DOCUMENT_PATH:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if start.get("status") == 200:
                body = json.dumps(complete_document(json.loads(body))).encode()
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)
