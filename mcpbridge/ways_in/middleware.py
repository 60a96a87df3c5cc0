"""ASGI middleware of the websocket: origin check for browsers, bearer tokens for programs.

Browsers always send ``Origin`` on a websocket handshake and carry the session
cookie on their own, so a socket with an ``Origin`` must come from an allowed host
(cross-site websocket hijacking). Programs send no ``Origin``; they authenticate
with ``Authorization: Bearer <API token>``, and a socket without an ``Origin`` is
never authenticated by a cookie (see ``ToolsConsumer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings

from mcpbridge.ways_in.callers import NotAuthenticatedError, bearer_token, caller_from_token

Scope = dict[str, Any]


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


class BrowserOriginValidator(OriginValidator):
    """``AllowedHostsOriginValidator`` that lets through handshakes without an ``Origin``."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def browser_origin_validator(application: Any) -> BrowserOriginValidator:
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed_hosts)


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
