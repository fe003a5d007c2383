"""Bearer API-key authentication for every non-health route of the scoring service.

Keys come from :class:`~common.settings.Settings` (``LEADSCORE_API_KEYS``). They are compared
in constant time and never logged or echoed: a refused request learns only that it was refused.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable, Sequence

from serving.limits import ASGIApp, Receive, Scope, Send

# Health probes and Prometheus scraping must work without credentials (load balancers and
# orchestrators do not hold API keys). The sales page shell, its script and its made-up
# example leads carry no data: the page asks for a key and sends it with every data request.
DEFAULT_OPEN_PATHS: frozenset[str] = frozenset(
    {"/livez", "/readyz", "/healthz", "/metrics", "/sales", "/sales/app.js", "/sales/examples.json"}
)


class MissingApiKeysError(RuntimeError):
    """The service was started without any API key configured."""


def require_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """Return the non-empty keys, or refuse to start: an open scoring API leaks lead data."""
    usable = tuple(key for key in keys if key)
    if not usable:
        raise MissingApiKeysError(
            "no API keys configured: set LEADSCORE_API_KEYS (comma-separated bearer tokens) "
            "before starting the scoring service; `leadscore serve --demo` generates one"
        )
    return usable


def bearer_token(authorization: str | None) -> str | None:
    """Extract the token of an ``Authorization: Bearer <token>`` header value."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_authorized(authorization: str | None, keys: Sequence[str]) -> bool:
    """True when the header carries one of ``keys`` (constant-time comparison per key)."""
    token = bearer_token(authorization)
    if token is None:
        return False
    candidate = token.encode()
    # Compare against every key so timing does not reveal which one nearly matched.
    matches = [hmac.compare_digest(candidate, key.encode()) for key in keys]
    return any(matches)


class BearerAuthMiddleware:
    """ASGI middleware answering 401 unless the request carries a configured bearer key.

    ``keys_loader`` is called once when the server builds its app (in the worker process), so
    keys come from that process's settings rather than from import-time state.
    """

    def __init__(
        self,
        app: ASGIApp,
        keys_loader: Callable[[], Iterable[str]],
        open_paths: frozenset[str] = DEFAULT_OPEN_PATHS,
    ) -> None:
        self.app = app
        self.keys = require_keys(keys_loader())
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        if is_authorized(header, self.keys):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "error": "unauthorized",
                "detail": ["headers.authorization: send 'Authorization: Bearer <API key>'"],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="leadscore"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
