"""The lead store's HTTP routes: ingestion (Segment / RudderStack Tracking API and the native
bulk routes), ``GET`` and ``DELETE /leads/{lead_id}``, ``GET /stats``.

Every write is one transaction: a request is stored whole or not at all, and a 4xx names the
item and field that stopped it (``batch[3].timestamp: ...``). Database work runs in a thread,
never on the event loop. A store that cannot be reached answers 503 with ``Retry-After``,
which CDPs retry, so a delivery is never lost to an outage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from serving import bulk_items, tracking_api
from serving.auth import SCOPES_KEY, ApiKey, match_key
from serving.ingest_queue import IngestQueue
from serving.lead_json import lead_json
from serving.limits import describe_errors
from serving.model_handle import ServedModel
from serving.score_changes import seen_by_read
from serving.score_log import BackgroundScoreLog
from serving.service_settings import ServingSettings
from serving.store_scoring import score_stored
from store.lead_reads import is_fresh
from store.lead_schema import FieldError
from store.lead_store import LeadStore
from store.records import IngestBatch

logger = logging.getLogger(__name__)

MAX_SHOWN = 500  # events and history rows one GET /leads/{id} may ask for
TRACKING_KINDS = ("track", "identify", "group")


class StoreBackend(Protocol):
    """What the routes need from the running service."""

    def served_model(self) -> ServedModel: ...

    def lead_store(self) -> LeadStore: ...

    def score_log(self) -> BackgroundScoreLog: ...

    def ingest_queue(self) -> IngestQueue: ...

    def api_keys(self) -> tuple[ApiKey, ...]: ...

    @property
    def settings(self) -> ServingSettings: ...


class RequestError(Exception):
    """A 4xx with its ``field: message`` lines."""

    def __init__(self, status: int, error: str, lines: list[str]) -> None:
        super().__init__(error)
        self.status, self.error, self.lines = status, error, lines


def _error(status: int, error: str, lines: list[str], **extra: Any) -> JSONResponse:
    # code/message: the fields Segment's SDKs read from a refused upload.
    body = {"error": error, "detail": lines, "code": error, "message": "; ".join(lines)}
    return JSONResponse(body | extra, status_code=status)


def _parse(model: type[BaseModel], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        lines = describe_errors(exc.errors(include_input=False))
        raise RequestError(422, f"{len(lines)} invalid field(s)", lines) from None


async def _body(request: Request, limit: int) -> bytes:
    """The request body, gunzipped when sent with ``Content-Encoding: gzip`` (as Segment's
    SDKs may), never inflated beyond ``limit`` bytes."""
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() != "gzip":
        return raw
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise RequestError(422, "invalid request", ["body: not valid gzip"]) from None
    if len(body) > limit or inflater.unconsumed_tail:
        raise RequestError(413, "request body too large", [f"body: over {limit} bytes"])
    return body


def build_store_routes(get_service: Callable[[], StoreBackend]) -> list[Route]:
    """The routes; ``get_service`` is called per request, never at build time."""

    async def ingest(batch: IngestBatch) -> dict[str, int]:
        return (await get_service().ingest_queue().ingest(batch)).to_dict()

    async def tracking(request: Request) -> Response:
        kind = request.url.path.rsplit("/", 1)[-1]
        service = get_service()
        raw = await _body(request, service.settings.max_body_bytes)
        if kind == "batch":
            parsed = _parse(tracking_api.BatchBody, raw)
            messages, prefix, write_key = parsed.batch, "batch", parsed.writeKey
        else:
            message = _parse(tracking_api.Message, raw)
            messages = [message.model_copy(update={"type": kind})]  # the route says what it is
            prefix, write_key = "", _write_key(raw)
        _check_write_key(request, write_key, service.api_keys())
        converted = tracking_api.convert_messages(
            messages, service.lead_store().schema, datetime.now(UTC), prefix
        )
        stored = await ingest(converted.batch)
        return JSONResponse(
            {
                "success": True,
                "stored": stored,
                "skipped": converted.skipped,
                "ignored_traits": sorted(converted.ignored_traits),
            }
        )

    async def bulk(request: Request) -> Response:
        kind = request.url.path.strip("/")
        service = get_service()
        raw = await _body(request, service.settings.max_body_bytes)
        body = _parse(bulk_items.body_schema(kind), raw)
        schema, ignored = service.lead_store().schema, set()
        if kind == "leads":
            batch, ignored = bulk_items.lead_batch(body, schema, datetime.now(UTC))
        elif kind == "events":
            batch = bulk_items.event_batch(body, schema)
        else:
            batch = bulk_items.deal_batch(body)
        stored = await ingest(batch)
        return JSONResponse({"stored": stored, "ignored_attributes": sorted(ignored)})

    async def lead_route(request: Request) -> Response:
        lead_id = request.path_params["lead_id"]
        n_events = _limit(request, "events", 50)
        n_history = _limit(request, "history", 50)
        service = get_service()
        store = service.lead_store()
        record = await asyncio.to_thread(
            store.lead_view, lead_id, n_events=n_events, n_history=n_history
        )
        if record is None:
            return _error(404, "not found", [f"lead_id: no lead {lead_id!r} in the store"])
        fresh = None
        if not is_fresh(record):
            # Changed since its stored score: scored now, so no read shows a score older than
            # the lead's last change; stored by the background writer.
            model = service.served_model()
            log = service.score_log()
            previous = seen_by_read(record, log.latest_explanations)
            scores = await asyncio.to_thread(
                score_stored, store, model, [lead_id], service.settings.stored_reasons,
                "change", previous=previous,
            )  # fmt: skip
            if scores:
                fresh = scores[0]
                log.record(scores)
        return JSONResponse(lead_json(record, fresh))

    async def erase_route(request: Request) -> Response:
        lead_id = request.path_params["lead_id"]
        service = get_service()
        log, store = service.score_log(), service.lead_store()
        # Pending score rows of the lead are written first, so none lands after the erasure.
        await asyncio.to_thread(log.flush)
        removed = await asyncio.to_thread(store.erase, lead_id)
        return JSONResponse(
            {"lead_id": lead_id, "removed": removed, "total": sum(removed.values())}
        )

    async def stats_route(_: Request) -> Response:
        service = get_service()
        stats = await asyncio.to_thread(service.lead_store().stats)
        return JSONResponse({"model_version": service.served_model().version, **stats})

    return [
        *(Route(f"/v1/{kind}", _guarded(tracking), methods=["POST"]) for kind in ("batch", *TRACKING_KINDS)),
        *(Route(f"/{kind}", _guarded(bulk), methods=["POST"]) for kind in ("leads", "events", "deals")),
        Route("/leads/{lead_id:str}", _guarded(lead_route), methods=["GET"]),
        Route("/leads/{lead_id:str}", _guarded(erase_route), methods=["DELETE"]),
        Route("/stats", _guarded(stats_route), methods=["GET"]),
    ]  # fmt: skip


def _guarded(route: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Bad input -> 4xx naming the field; an unreachable store -> 503 (retry later)."""

    async def handle(request: Request) -> Response:
        try:
            return await route(request)
        except RequestError as exc:
            return _error(exc.status, exc.error, exc.lines)
        except FieldError as exc:
            return _error(422, "invalid request", [str(exc)])
        except OperationalError as exc:
            # The driver's error class only: SQLAlchemy's message carries the statement's
            # parameters, which are request content.
            logger.error(
                "lead store unavailable (%s %s): %s",
                request.method, request.url.path, type(exc.orig).__name__,
            )  # fmt: skip
            response = _error(503, "store unavailable", ["store: cannot be reached; retry later"])
            response.headers["Retry-After"] = "5"
            return response

    return handle


def _write_key(raw: bytes) -> str | None:
    try:
        value = json.loads(raw).get("writeKey")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _check_write_key(request: Request, write_key: str | None, keys: tuple[ApiKey, ...]) -> None:
    """Tracking requests with no key in a header authenticate with the body's writeKey."""
    scopes = request.scope.get(SCOPES_KEY)
    if scopes is None:
        key = match_key(write_key, keys)
        if key is None:
            raise RequestError(
                401,
                "unauthorized",
                ["writeKey: send an API key as writeKey, HTTP Basic user or Bearer token"],
            )
        scopes = key.scopes
    if "ingest" not in scopes:
        raise RequestError(403, "forbidden", ["writeKey: this API key lacks the 'ingest' scope"])


def _limit(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name, str(default))
    if not raw.isdigit() or not 0 <= int(raw) <= MAX_SHOWN:
        raise RequestError(422, "invalid request", [f"{name}: integer 0..{MAX_SHOWN}"])
    return int(raw)
