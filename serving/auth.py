"""API-key authentication and scopes for every non-health route of the service.

Keys come from :class:`~common.settings.Settings` (``LEADSCORE_API_KEYS``), each with scopes:
``ingest`` (write leads, events, deals), ``read`` (scores, leads, history, the sales page's
data), ``admin`` (erasure, store maintenance); a key given without scopes has all of them. A
key is sent as ``Authorization: Bearer KEY`` or, as Segment's and RudderStack's SDKs send a
write key, as HTTP Basic with the key as the user name; the tracking routes (``/v1/...``) also
take the SDKs' ``writeKey`` body field, which the route itself checks.

Keys are compared in constant time and never logged or echoed: a refused request learns only
that it was refused (401) or which scope its key lacks (403).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from common.settings import API_SCOPES
from serving.limits import ASGIApp, Receive, Scope, Send

# Health probes and Prometheus scraping must work without credentials (load balancers and
# orchestrators do not hold API keys). The sales page shell, its scripts and its made-up
# example leads carry no data: the page asks for a key and sends it with every data request.
DEFAULT_OPEN_PATHS: frozenset[str] = frozenset(
    {
        "/livez",
        "/readyz",
        "/healthz",
        "/metrics",
        "/sales",
        "/sales/app.js",
        "/sales/lead.js",
        "/sales/examples.json",
        "/sales/hot.js",
    }
)
TRACKING_PREFIX = "/v1/"  # Segment / RudderStack HTTP Tracking API
INGEST_PATHS = frozenset({"/leads", "/events", "/deals"})  # POST: the native bulk routes
WEBHOOKS_PATH = "/webhooks"  # every method: admin
SCOPES_KEY = "leadscore.scopes"  # where the middleware leaves the key's scopes in the scope


class MissingApiKeysError(RuntimeError):
    """The service was started without any API key configured."""


@dataclass(frozen=True)
class ApiKey:
    secret: str
    scopes: frozenset[str]


def require_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """Return the non-empty keys, or refuse to start: an open scoring API leaks lead data."""
    usable = tuple(key for key in keys if key)
    if not usable:
        raise MissingApiKeysError(
            "no API keys configured: set LEADSCORE_API_KEYS (comma-separated keys, each "
            "optionally KEY:scope+scope) before starting the service; `leadscore serve "
            "--demo-key` generates one"
        )
    return usable


def as_api_keys(keys: Iterable[str | tuple[str, frozenset[str]]]) -> tuple[ApiKey, ...]:
    """Keys as given by settings: plain strings (every scope) or (key, scopes) pairs."""
    out = []
    for key in keys:
        secret, scopes = (key, frozenset(API_SCOPES)) if isinstance(key, str) else key
        out.append(ApiKey(secret, frozenset(scopes)))
    require_keys(key.secret for key in out)
    return tuple(key for key in out if key.secret)


def required_scope(method: str, path: str) -> str:
    """The scope a request needs: writes of leads, events and deals need ``ingest``, erasure
    and webhook subscriptions need ``admin``, everything else (scores, leads, history, stats, model) ``read``."""
    if path.startswith(TRACKING_PREFIX) or (method == "POST" and path in INGEST_PATHS):
        return "ingest"
    if method == "DELETE" and path.startswith("/leads/"):
        return "admin"
    if path == WEBHOOKS_PATH or path.startswith(WEBHOOKS_PATH + "/"):
        return "admin"  # subscriptions carry signing secrets and decide where lead data goes
    return "read"


def bearer_token(authorization: str | None) -> str | None:
    """Extract the token of an ``Authorization: Bearer <token>`` header value."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def basic_user(authorization: str | None) -> str | None:
    """The user name of an ``Authorization: Basic base64(user:password)`` header value."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user = decoded.partition(":")[0]
    return user or None


def presented_key(authorization: str | None) -> str | None:
    """The API key a header carries, as Bearer token or Basic user name."""
    return bearer_token(authorization) or basic_user(authorization)


def match_key(candidate: str | None, keys: Sequence[ApiKey]) -> ApiKey | None:
    """The configured key equal to ``candidate`` (every key compared in constant time, so
    timing does not reveal which one nearly matched)."""
    if not candidate:
        return None
    encoded = candidate.encode()
    found = None
    for key in keys:
        if hmac.compare_digest(encoded, key.secret.encode()):
            found = key
    return found


def is_authorized(authorization: str | None, keys: Sequence[str]) -> bool:
    """True when the header carries one of ``keys``."""
    return match_key(presented_key(authorization), as_api_keys(keys)) is not None


class ApiKeyMiddleware:
    """ASGI middleware: 401 without a configured key, 403 when its scopes do not cover the
    route. Tracking-API requests without a key in a header go on to the route, which checks
    the body's ``writeKey`` (the scopes it finds are left in the ASGI scope, None here).

    ``keys_loader`` is called once when the server builds its app (in the worker process), so
    keys come from that process's settings rather than from import-time state.
    """

    def __init__(
        self,
        app: ASGIApp,
        keys_loader: Callable[[], Iterable[str | tuple[str, frozenset[str]]]],
        open_paths: frozenset[str] = DEFAULT_OPEN_PATHS,
    ) -> None:
        self.app = app
        self.keys = as_api_keys(keys_loader())
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in self.open_paths:
            await self.app(scope, receive, send)
            return
        key = match_key(presented_key(_header(scope, b"authorization")), self.keys)
        if key is None and path.startswith(TRACKING_PREFIX):
            scope[SCOPES_KEY] = None  # the route reads the SDK's writeKey from the body
            await self.app(scope, receive, send)
            return
        if key is None:
            await refuse(send, 401, "headers.authorization: send 'Authorization: Bearer <API key>'")
            return
        needed = required_scope(scope.get("method", "GET"), path)
        if needed not in key.scopes:
            await refuse(
                send, 403, f"headers.authorization: this API key lacks the {needed!r} scope"
            )
            return
        scope[SCOPES_KEY] = key.scopes
        await self.app(scope, receive, send)


async def refuse(send: Send, status: int, line: str) -> None:
    """Answer 401/403 with the service's error shape, plus the ``code``/``message`` fields
    Segment's SDKs read from a refused upload."""
    error = "unauthorized" if status == 401 else "forbidden"
    body = json.dumps({"error": error, "detail": [line], "code": error, "message": line}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="leadscore", Basic realm="leadscore"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
