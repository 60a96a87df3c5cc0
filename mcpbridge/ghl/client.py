"""The one pooled HTTP client a child uses to reach GHL."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import math
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from mcpbridge.ghl.config import Settings
from mcpbridge.ghl.errors import GhlServerError
from mcpbridge.ghl.ratelimit import SlidingWindowLimiter

logger = logging.getLogger("mcpbridge.ghl.client")

USER_AGENT = "ghl-agent-hub-mcp/1.0"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
# A 429 means GHL did not run the request, so any method may wait and go again.
RATE_LIMIT_RETRIES = 3
MAX_CONNECTIONS = 10


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    method: str
    path: str  # filled, relative to the base URL
    template: str  # the operation's path as the spec writes it, for messages
    version: str
    idempotent: bool
    params: list[tuple[str, str]]
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str | None, bytes]] | None = None


@dataclass(frozen=True, slots=True)
class GhlResponse:
    status: int
    data: Any


class GhlError(GhlServerError):
    """A call to GHL that did not succeed; the message is safe to show a user."""

    code = "ghl_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def ghl_message(response: httpx.Response) -> str:
    """GHL's own words from an error body (``message`` may be a string or a list)."""
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300]
    if not isinstance(body, dict):
        return json.dumps(body)[:300]
    message = body.get("message") or body.get("msg") or body.get("error") or ""
    if isinstance(message, list):
        message = "; ".join(str(item) for item in message)
    return str(message)[:500]


def retry_after_seconds(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw:
        with contextlib.suppress(ValueError):
            return max(float(raw), 0.0)
        # An HTTP date; one that does not parse is ignored like a missing header.
        with contextlib.suppress(TypeError, ValueError):
            return max(email.utils.parsedate_to_datetime(raw).timestamp() - time.time(), 0.0)
    interval = response.headers.get("X-RateLimit-Interval-Milliseconds")
    remaining = response.headers.get("X-RateLimit-Remaining")
    if interval and remaining is not None and remaining.strip() in ("0", "-1"):
        try:
            return float(interval) / 1000.0
        except ValueError:
            return None
    return None


class GhlClient:
    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.limiter = SlidingWindowLimiter(
            max_requests=settings.max_requests, window=settings.rate_window
        )
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            headers={
                "Authorization": f"Bearer {settings.access_token}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
            ),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, request: PreparedRequest) -> GhlResponse:
        """Send with GHL's limits respected; raise GhlError when it cannot succeed.

        Everything one call does (waiting for the limiter, retries, waits for a 429)
        ends within ``call_budget``, so the bridge's own timeout never fires first.
        """
        deadline = time.monotonic() + self.settings.call_budget
        try:
            async with asyncio.timeout(self.settings.call_budget):
                return await self._send_with_retries(request, deadline)
        except TimeoutError:
            raise GhlError(
                f"GHL did not answer {request.method} {request.template} within "
                f"{self.settings.call_budget:g} s (retries included); try again shortly."
            ) from None

    async def _send_with_retries(self, request: PreparedRequest, deadline: float) -> GhlResponse:
        attempt = 0
        rate_limited = 0
        while True:
            try:
                response = await self._send_counted(request)
            except httpx.TransportError as exc:
                if attempt < self.settings.max_retries and network_retry_safe(request, exc):
                    attempt += 1
                    await asyncio.sleep(backoff(attempt))
                    continue
                raise GhlError(network_message(request, exc)) from None
            self._note_rate_headers(response)
            if response.status_code == 429:
                wait = self._rate_limit_wait(response, deadline)
                if wait is not None and rate_limited < RATE_LIMIT_RETRIES:
                    rate_limited += 1
                    logger.warning(
                        "GHL rate limit on %s %s: retrying in %.1fs",
                        request.method,
                        request.template,
                        wait,
                    )
                    await asyncio.sleep(wait)
                    continue
            elif self._server_error_retryable(request, response, attempt):
                attempt += 1
                await asyncio.sleep(backoff(attempt))
                continue
            return self._result(request, response)

    async def _send_counted(self, request: PreparedRequest) -> httpx.Response:
        async with self.limiter.place():
            return await self._send_once(request)

    async def _send_once(self, request: PreparedRequest) -> httpx.Response:
        started = time.perf_counter()
        response = await self._http.request(
            request.method,
            request.path,
            params=tuple(request.params),
            json=request.json,
            data=request.data,
            files=request.files,
            headers={"Version": request.version},
        )
        logger.info(
            "%s %s -> %s in %.0f ms",
            request.method,
            request.template,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    def _server_error_retryable(
        self, request: PreparedRequest, response: httpx.Response, attempt: int
    ) -> bool:
        # A 5xx may have been applied before failing: only idempotent calls go again.
        return (
            response.status_code in RETRY_STATUSES
            and request.idempotent
            and attempt < self.settings.max_retries
        )

    def _note_rate_headers(self, response: httpx.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        interval = response.headers.get("X-RateLimit-Interval-Milliseconds")
        if remaining is not None and remaining.strip() == "0" and interval:
            with contextlib.suppress(ValueError):
                self.limiter.hold(float(interval) / 1000.0)

    def _rate_limit_wait(self, response: httpx.Response, deadline: float) -> float | None:
        """Seconds to wait before trying again, or None to report the 429 now."""
        wait = retry_after_seconds(response)
        if wait is None:
            wait = self.settings.rate_window
        too_long = wait > self.settings.max_rate_limit_wait
        if too_long or time.monotonic() + wait >= deadline:
            return None
        return wait

    def _result(self, request: PreparedRequest, response: httpx.Response) -> GhlResponse:
        if response.is_success:
            return GhlResponse(response.status_code, parse_body(response))
        raise GhlError(error_message(request, response), status=response.status_code)


def parse_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def network_retry_safe(request: PreparedRequest, exc: httpx.TransportError) -> bool:
    # A request that never left (no connection) cannot have been applied twice.
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    return request.idempotent or never_sent


def backoff(attempt: int) -> float:
    return min(0.25 * 2 ** (attempt - 1), 4.0) * (0.75 + random.random() / 2)  # noqa: S311


def network_message(request: PreparedRequest, exc: httpx.TransportError) -> str:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
    return f"GHL {kind} ({request.method} {request.template}); try again shortly."


def error_message(request: PreparedRequest, response: httpx.Response) -> str:
    status = response.status_code
    detail = ghl_message(response) or response.reason_phrase
    where = f"{request.method} {request.template}"
    text = f"GHL returned {status} {response.reason_phrase} for {where}: {detail}"
    if status == 401:
        text += (
            " (the sub-account's access token was refused; it may have expired or lack this scope)"
        )
    elif status == 429:
        text += rate_limit_note(response)
    return text


def rate_limit_note(response: httpx.Response) -> str:
    wait = retry_after_seconds(response)
    if wait is None:
        return " (GHL's rate limit; retry in a few seconds)"
    return f" (GHL's rate limit; retry after {max(math.ceil(wait), 1)} s)"
