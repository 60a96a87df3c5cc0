"""Request ids and the access log, as the outermost ASGI layer.

Every HTTP request and websocket gets a request id (the caller's ``X-Request-ID``
when it is a sane token, a fresh one otherwise) that every log line made while
serving it carries, and that HTTP responses echo back. One access-log line per
request or websocket goes through Python logging, so it follows ``LOG_FORMAT``
and is redacted like everything else: OAuth's ``code``/``state`` and ``?token=``
query values never reach the log. ``config.serve`` switches daphne's own access
log off, which would print them verbatim.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from config.logging import current_request_id, redact

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Any ASGI 3 application; asgiref's TypedDict scopes and events are narrower than needed here.
ASGIApp = Callable[..., Awaitable[None]]

logger = logging.getLogger("access")

# Anything else (spaces, quotes, newlines, kilobytes) is replaced, never logged.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_TENANT_PATH = re.compile(r"^/(?:ws/)?(?:tenants|mcp)/([^/]+)/")
# Load-balancer probes would drown the log; they are kept at DEBUG.
PROBE_PATHS = frozenset({"/health", "/livez"})


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            supplied = value.decode("latin-1").strip()
            if _SANE_REQUEST_ID.fullmatch(supplied):
                return supplied
    return uuid.uuid4().hex


def _target(scope: Scope) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    path = scope.get("path", "")
    return redact(f"{path}?{query}" if query else path)


def _tenant(scope: Scope) -> str:
    match = _TENANT_PATH.match(scope.get("path", ""))
    return match.group(1) if match else "-"


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


class _Outcome:
    def __init__(self) -> None:
        self.status: int | str = "-"
        self.size = 0
        self.started = time.perf_counter()

    def milliseconds(self) -> int:
        return round((time.perf_counter() - self.started) * 1000)


def _log(scope: Scope, method: str, outcome: _Outcome) -> None:
    path = scope.get("path", "")
    level = logging.DEBUG if path in PROBE_PATHS else logging.INFO
    target = _target(scope)
    duration = outcome.milliseconds()
    logger.log(
        level,
        "%s %s %s %sB %sms",
        method,
        target,
        outcome.status,
        outcome.size,
        duration,
        extra={
            "tenant": _tenant(scope),
            "method": method,
            "path": target,
            "status": outcome.status,
            "bytes": outcome.size,
            "duration_ms": duration,
            "client": _client(scope),
        },
    )


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        token = current_request_id.set(request_id)
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send, request_id)
            else:
                await self._websocket(scope, receive, send)
        finally:
            current_request_id.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        outcome = _Outcome()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome.status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            elif message["type"] == "http.response.body":
                outcome.size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log(scope, scope.get("method", "-"), outcome)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        outcome = _Outcome()

        async def send_watched(message: Message) -> None:
            if message["type"] == "websocket.accept":
                outcome.status = 101
            elif message["type"] == "websocket.close" and outcome.status == "-":
                outcome.status = 403
            elif message["type"] == "websocket.send":
                outcome.size += len(message.get("bytes") or message.get("text") or "")
            await send(message)

        try:
            await self.app(scope, receive, send_watched)
        finally:
            _log(scope, "WEBSOCKET", outcome)
