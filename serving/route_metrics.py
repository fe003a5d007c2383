"""Prometheus labels by route template, and the service's own gauges.

BentoML's HTTP metrics label every series with the raw request path: each random path an
unauthenticated client sends becomes new series in ``/metrics`` (10,000 paths grew it from
116 KB to 42 MB), and ``/history/jane.doe@example.com`` put a lead's id in a page served
without a key. BentoML builds that middleware itself, outside any middleware a service adds, so
:func:`label_by_route` wraps it: it sees the route's template (``/leads/{lead_id}``), or
``unmatched`` for a path no route serves, and everything inside it the real path. The number of
series is then bounded by routes x status codes, and nothing in ``/metrics`` names a lead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from bentoml._internal.server.http.instruments import RunnerTrafficMetricsMiddleware
from starlette.routing import BaseRoute, Match

from serving.limits import ASGIApp, Receive, Scope, Send

UNMATCHED = "unmatched"
_CONVERTOR = re.compile(r":\w+}")  # "/leads/{lead_id:str}" -> "/leads/{lead_id}"
_REAL_PATH = "leadscore.real_path"
# Routes BentoML serves itself, next to the service's API routes.
BENTOML_PATHS = frozenset({"/", "/docs.json", "/livez", "/readyz", "/healthz", "/metrics"})


class RouteLabels:
    """``scope -> label``: an exact path of ``paths``, a template of ``routes``, or UNMATCHED."""

    def __init__(self, paths: Iterable[str], routes: Iterable[BaseRoute]) -> None:
        self.paths = frozenset(paths)
        self.routes = list(routes)

    def __call__(self, scope: Scope) -> str:
        path = scope.get("path", "")
        if path in self.paths:
            return path
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return _CONVERTOR.sub("}", str(getattr(route, "path", UNMATCHED)))
        return UNMATCHED


class _RestorePath:
    """Inside the metrics middleware: hand the real path back to the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _REAL_PATH in scope:
            scope = {**scope, "path": scope[_REAL_PATH]}
        await self.app(scope, receive, send)


def label_by_route(labels: Callable[[Scope], str]) -> None:
    """Make BentoML's HTTP metrics label requests with ``labels(scope)`` (once per process).

    Written against BentoML 1.4.39 (pinned in requirements.lock): services of its SDK count
    requests in ``RunnerTrafficMetricsMiddleware.__call__``, which takes the label from
    ``scope["path"]``; only that method is wrapped. Check it when upgrading BentoML."""
    cls: Any = RunnerTrafficMetricsMiddleware
    if getattr(cls, "_leadscore_labels", None) is None:
        original = cls.__call__

        async def labelled(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
            if scope.get("type") != "http" or scope.get("path") == "/metrics":
                await original(self, scope, receive, send)
                return
            if not isinstance(self.app, _RestorePath):
                self.app = _RestorePath(self.app)
            shown = {**scope, "path": cls._leadscore_labels(scope), _REAL_PATH: scope["path"]}
            await original(self, shown, receive, send)

        cls.__call__ = labelled
    cls._leadscore_labels = labels


_GAUGES: dict[str, Any] = {}


def backlog_gauge() -> Any:
    """``leadscore_score_log_backlog``: served scores not in the store yet (summed over the
    live workers)."""
    if "backlog" not in _GAUGES:
        import bentoml

        _GAUGES["backlog"] = bentoml.metrics.Gauge(
            name="leadscore_score_log_backlog",
            documentation="Served scores waiting to be written to the lead store",
            multiprocess_mode="livesum",
        )
    return _GAUGES["backlog"]
