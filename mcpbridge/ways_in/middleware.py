"""ASGI middleware of the websocket: origin check for browsers, bearer tokens for programs.

Browsers always send ``Origin`` on a websocket handshake and carry the session
cookie on their own, so a socket with an ``Origin`` must come from the site itself,
scheme, host and port alike (cross-site websocket hijacking). Programs send no
``Origin``; they authenticate with ``Authorization: Bearer <API token>``, and a
socket without an ``Origin`` is never authenticated by a cookie (see ``ToolsConsumer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from mcpbridge.ways_in.callers import NotAuthenticatedError, bearer_token, caller_from_token

Scope = dict[str, Any]
DEFAULT_PORTS = {"http": 80, "https": 443}


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin, the port filled in from the scheme."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _trusted(origin: tuple[str, str, int], pattern: str) -> bool:
    """Whether ``origin`` matches a ``CSRF_TRUSTED_ORIGINS`` entry (``*.`` covers subdomains)."""
    wildcard = "://*." in pattern
    wanted = _origin(pattern.replace("://*.", "://", 1))
    if wanted is None:
        return False
    scheme, host, port = origin
    if (scheme, port) != (wanted[0], wanted[2]):
        return False
    return host.endswith("." + wanted[1]) if wildcard else host == wanted[1]


def _secure(scope: Mapping[str, Any]) -> bool:
    if scope.get("scheme") == "wss":
        return True
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if not proxy:
        return False
    name, value = proxy
    sent = header(scope, name.removeprefix("HTTP_").lower().replace("_", "-").encode())
    return sent is not None and sent.split(",")[0].strip() == value


def _same_origin(origin: tuple[str, str, int], scope: Mapping[str, Any]) -> bool:
    """The page's own origin: the handshake's allowed ``Host``, with the connection's scheme."""
    host = header(scope, b"host")
    if not host:
        return False
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    return origin == _origin(f"{'https' if _secure(scope) else 'http'}://{host}")


def origin_allowed(raw: str, scope: Mapping[str, Any]) -> bool:
    """Django's CSRF rule for an ``Origin``: scheme, host and port must all match the site
    (``SITE_URL``), a trusted origin (``CSRF_TRUSTED_ORIGINS``) or the page's own origin."""
    origin = _origin(raw)
    if origin is None:
        return False
    if origin == _origin(settings.SITE_URL):
        return True
    if any(_trusted(origin, pattern) for pattern in settings.CSRF_TRUSTED_ORIGINS):
        return True
    return _same_origin(origin, scope)


class BrowserOriginCheck:
    """Refuse a handshake whose ``Origin`` is not the site's; let through ones with none."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        raw = header(scope, b"origin")
        if raw is None or origin_allowed(raw, scope):
            return await self.application(scope, receive, send)
        denier = WebsocketDenier()
        return await denier(scope, receive, send)  # type: ignore[arg-type]  # channels types the scope as its own TypedDict


class ApiTokenAuthMiddleware:
    """Put the caller of an ``Authorization: Bearer`` header in ``scope["token_caller"]``.

    ``scope["token_error"]`` holds why a header that was sent does not authenticate.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        raw = bearer_token(header(scope, b"authorization"))
        scope = dict(scope, token_caller=None, token_error=None)
        if raw is not None:
            try:
                scope["token_caller"] = await caller_from_token(raw)
            except NotAuthenticatedError as exc:
                scope["token_error"] = exc.message
        return await self.application(scope, receive, send)
