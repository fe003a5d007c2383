"""The BentoML scoring service: ``POST /score``, ``GET /model``, the lead store's routes, the
sales page.

Start it with ``bentoml serve serving.service:LeadScoreService`` (or ``leadscore serve``). It
reads :class:`~serving.service_settings.ServingSettings` from ``LEADSCORE_*`` environment variables,
refuses to start without API keys or without a registered champion, migrates the lead store,
follows the champion alias (hot reload) and keeps stored scores current in the background.
Health (``/livez``, ``/readyz``) and ``/metrics`` come from BentoML.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from typing import Any

import bentoml
from bentoml.exceptions import InvalidArgument
from starlette.exceptions import HTTPException

from models.schema import ScoreOut
from serving.alert_worker import DeliveryWorker
from serving.auth import ApiKey, ApiKeyMiddleware, as_api_keys, require_keys
from serving.connections import ConnectionRecycleMiddleware
from serving.error_logs import install_client_error_filter
from serving.graceful_stop import draining, install_graceful_stop
from serving.ingest_queue import IngestQueue
from serving.limits import BodyLimitMiddleware, ValidationErrorMiddleware
from serving.model_handle import (
    ServedModel,
    load_served_model,
    resolve_version,
    served_model_name,
)
from serving.openapi_document import OpenApiMiddleware
from serving.reload import AliasWatcher, RegistryState
from serving.rescorer import BackgroundRescorer
from serving.route_metrics import BENTOML_PATHS, RouteLabels, backlog_gauge, label_by_route
from serving.schemas import BoundedLead, ScoreRequest, ScoreResponse
from serving.score_changes import with_changes
from serving.score_log import BackgroundScoreLog
from serving.service_settings import ServingSettings
from serving.web import build_web_app, web_routes
from store.alert_rules import AlertPolicy
from store.alert_store import AlertStore
from store.lead_store import LeadStore

logger = logging.getLogger(__name__)

SCORE_ROUTE = "/score"
INLINE_LEADS = 8  # requests with at most this many leads are scored on the event loop


def _api_keys() -> list[tuple[str, frozenset[str]]]:
    # Read in the worker when the ASGI app is built; settings are pure env reads, so every
    # reader in the process sees the same values.
    return ServingSettings().api_key_scopes()


def _body_limit(app: Any) -> BodyLimitMiddleware:
    return BodyLimitMiddleware(app, max_bytes=ServingSettings().max_body_bytes)


def _current_service() -> Any:
    return bentoml.get_current_service()


@bentoml.asgi_app(build_web_app(_current_service), path="/")
# One worker process per CPU: a request is ~0.5 ms of Python, so one worker saturates one core
# (measured on 2 cores: 1 worker ~300 req/s at 8 clients, 2 workers ~750). Per-request access
# logs cost ~10% and repeat what /metrics counts; errors are still logged. BentoML wraps every
# request in an OpenTelemetry span even when no exporter is configured: ~25% of the requests/s
# at 8 clients (measured), so /score is left out of tracing by default. Both are defaults an
# operator can override in the BentoML config (`services.leadscore.tracing.excluded_urls`).
@bentoml.service(
    name="leadscore",
    workers="cpu_count",
    traffic={"timeout": 120},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": [SCORE_ROUTE]},
)
class LeadScoreService:
    """Scores leads with the registered champion and explains every score."""

    def __init__(self) -> None:
        settings = ServingSettings()
        # Checked here too: the auth middleware is only built on the first request, and a
        # service that cannot authenticate anyone must fail at start, not per request.
        require_keys(settings.api_key_values())
        self.settings = settings
        # bentoml's root logger shows WARNING and up: the service's own INFO lines (which
        # model serves, rescoring runs) would be lost.
        for package in ("serving", "store"):
            logging.getLogger(package).setLevel(settings.log_level)
        # Hardening (#32): bounded metric labels, one-line client errors, graceful stop, MLflow
        # timeouts.
        label_by_route(RouteLabels({*BENTOML_PATHS, SCORE_ROUTE}, web_routes()))
        install_client_error_filter()
        install_graceful_stop(settings.drain_seconds)
        for variable, value in settings.mlflow_environment().items():
            os.environ.setdefault(variable, value)
        uri, alias = settings.mlflow_tracking_uri, settings.champion_alias
        name = served_model_name(uri, settings.model_name, alias, settings.store_dataset)
        self._watcher = AliasWatcher(
            resolve=functools.partial(resolve_version, uri, name, alias),
            load=functools.partial(load_served_model, uri, name, alias),
            interval=settings.reload_seconds,
        )
        self._watcher.start()
        self._keys = as_api_keys(settings.api_key_scopes())
        # Every worker migrates at start (serialised by a lock): a new version of the service
        # brings its schema with it.
        self._store = LeadStore.open(
            settings.store_database_url(),
            settings.store_dataset,
            alerts=AlertPolicy.from_settings(settings),
            busy_seconds=settings.store_busy_seconds,
        )
        self._log = BackgroundScoreLog(self._store, on_backlog=backlog_gauge().set)
        self._ingest = IngestQueue(self._store)
        self._rescorer = BackgroundRescorer(
            self._store,
            self._watcher.current,
            interval=settings.rescore_seconds,
            refresh_hours=settings.refresh_hours,
            explain=settings.stored_reasons,
        )
        self._rescorer.start()
        # Alerts: every worker process delivers the outbox (claims keep them apart).
        self._alerts = AlertStore(self._store.db)
        self._delivery = DeliveryWorker.from_settings(self._alerts, settings)
        self._delivery.start()
        logger.info("serving models:/%s@%s = v%s", name, alias, self._watcher.current().version)

    def served_model(self) -> ServedModel:
        """The model serving right now (one reference, read once per request)."""
        return self._watcher.current()

    def score_log(self) -> BackgroundScoreLog:
        """What was served, on its way to the store."""
        return self._log

    def registry_state(self) -> RegistryState:
        """The model registry as the last poll found it (``GET /model``)."""
        return self._watcher.registry_state()

    async def __is_ready__(self) -> bool:
        """``/readyz``: 503 with the reason while stopping or while served scores pile up
        unwritten."""
        if draining():
            raise HTTPException(status_code=503, detail="stopping: answering accepted requests")
        backlog = self._log.pending()
        if backlog > self.settings.score_backlog_limit:
            raise HTTPException(
                status_code=503,
                detail=f"score log backlog: {backlog} served scores not yet in the lead store "
                f"(limit {self.settings.score_backlog_limit}); is the store locked or down?",
            )
        return True

    def lead_store(self) -> LeadStore:
        return self._store

    def ingest_queue(self) -> IngestQueue:
        return self._ingest

    def api_keys(self) -> tuple[ApiKey, ...]:
        return self._keys

    def alert_store(self) -> AlertStore:
        return self._alerts

    def delivery_worker(self) -> DeliveryWorker:
        return self._delivery

    @bentoml.api(route=SCORE_ROUTE, input_spec=ScoreRequest, output_spec=ScoreResponse)
    async def score(self, leads: list[BoundedLead], explain: int = 5) -> ScoreResponse:
        """Score 1..1000 leads; ``explain`` is the number of reasons per lead (0..20)."""
        model = self._watcher.current()
        # A few leads take ~0.3 ms: scored on the event loop, which saved the thread-pool hop
        # that cost more than the scoring (~25 % more requests/s at 8 clients, measured).
        # Larger batches go to a thread so they never stall the worker's other requests.
        if len(leads) <= INLINE_LEADS:
            scores = self._explained_scores(model, leads, explain)
        else:
            scores = await asyncio.to_thread(self._explained_scores, model, leads, explain)
        try:
            self._log.append(scores)
        except Exception:
            # An unavailable log must not withhold scores from the CRM; it is loud, not silent.
            logger.exception("score log append failed for %d scores", len(scores))
        return ScoreResponse(model_version=model.version, scores=scores)

    def _explained_scores(
        self, model: ServedModel, leads: list[BoundedLead], explain: int
    ) -> list[ScoreOut]:
        """Scores, with what changed since each lead's previous logged score."""
        try:
            scores = model.score(leads, explain)
        except (ValueError, TypeError) as exc:
            # The model rejects values the schema cannot express (e.g. as_of before
            # created_at): that is the client's input, so 4xx naming what the model said
            # (``leads[3].attributes.annual_revenue: ...``).
            message = str(exc)
            raise InvalidArgument(
                message if message.startswith("leads[") else f"leads: {message}"
            ) from None
        return with_changes(model.scorer, scores, self._log.latest_explanations)

    @bentoml.on_shutdown
    def _shutdown(self) -> None:
        self._ingest.close()
        self._rescorer.stop()
        self._delivery.stop()
        self._watcher.stop()
        # Requests already accepted were answered before this hook runs (serving.graceful_stop
        # drains them); their scores reach the store unless it stays locked past the deadline.
        self._log.close(deadline_seconds=self.settings.drain_seconds)
        self._store.close()


# Outermost first: recycle keep-alive connections so workers share them, refuse
# unauthenticated requests before reading bodies, then bound the body, then turn BentoML's 400
# validation answers into 422 lines naming the field.
LeadScoreService.add_asgi_middleware(ConnectionRecycleMiddleware)  # type: ignore[arg-type]
LeadScoreService.add_asgi_middleware(ApiKeyMiddleware, keys_loader=_api_keys)
LeadScoreService.add_asgi_middleware(OpenApiMiddleware)  # type: ignore[arg-type]
LeadScoreService.add_asgi_middleware(_body_limit)  # type: ignore[arg-type]
LeadScoreService.add_asgi_middleware(ValidationErrorMiddleware, paths=(SCORE_ROUTE,))
