"""``GET /health``: is this worker able to serve? ``GET /livez``: is it alive at all?

Both answer whatever the Host header: load balancers and orchestrators probe by
IP, and neither response names a host or a secret. :class:`ProbeMiddleware`
serves them ahead of the middleware that validates the Host (which would answer
400 and log an ERROR for every probe).

Each check is bounded by ``HEALTH_CHECK_TIMEOUT`` so that a dead or black-holed
dependency turns into a 503 naming it, never a hung probe. Apps may add detail
(not pass/fail) with :func:`register_detail`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

DetailProvider = Callable[[], Awaitable[Any]]
_detail_providers: dict[str, DetailProvider] = {}


def register_detail(name: str, provider: DetailProvider) -> None:
    """Show ``await provider()`` under ``detail[name]`` in every health response."""
    _detail_providers[name] = provider


# Blocking checks run in threads of their own (not the request's thread), so a
# hung one cannot queue the others behind it or hold the response back.


def _database_roundtrip() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def _cache_roundtrip() -> None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    if cache.get(key) != "ok":
        raise RuntimeError("value written to the cache could not be read back")
    cache.delete(key)


async def check_database() -> None:
    await sync_to_async(_database_roundtrip, thread_sensitive=False)()


async def check_cache() -> None:
    await sync_to_async(_cache_roundtrip, thread_sensitive=False)()


async def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    # Every layer Channels ships takes a prefix; the base class in the stubs does not.
    channel = await layer.new_channel("health.")  # type: ignore[call-arg]
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("the channel layer returned another message")


CHECKS: dict[str, Callable[[], Awaitable[None]]] = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
}


async def _run_check(name: str, check: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(check(), timeout=settings.HEALTH_CHECK_TIMEOUT)
    except TimeoutError:
        logger.warning("health check %s timed out", name)
        return f"timeout after {settings.HEALTH_CHECK_TIMEOUT:g}s"
    except Exception as exc:
        logger.warning("health check %s failed: %s", name, exc)
        return f"error: {type(exc).__name__}"
    return "ok"


async def _details() -> dict[str, Any]:
    details: dict[str, Any] = {}
    for name, provider in _detail_providers.items():
        try:
            details[name] = await asyncio.wait_for(provider(), settings.HEALTH_CHECK_TIMEOUT)
        except Exception as exc:
            details[name] = f"error: {type(exc).__name__}"
    return details


@never_cache
@require_GET
async def health(request: HttpRequest) -> JsonResponse:
    names = list(CHECKS)
    results = await asyncio.gather(*(_run_check(name, CHECKS[name]) for name in names))
    checks = dict(zip(names, results, strict=True))
    failing = [name for name, result in checks.items() if result != "ok"]
    body: dict[str, Any] = {"status": "fail" if failing else "ok", "checks": checks}
    if failing:
        body["failing"] = failing
    if _detail_providers:
        body["detail"] = await _details()
    return JsonResponse(body, status=503 if failing else 200)


@never_cache
@require_GET
async def livez(request: HttpRequest) -> JsonResponse:
    """The process answers: no dependency is asked (a restart would not mend them)."""
    return JsonResponse({"status": "ok"})


def _metrics(request: HttpRequest) -> Awaitable[HttpResponseBase]:
    from config.metrics import metrics

    return sync_to_async(metrics)(request)


# Prometheus scrapes each replica by its address too; /metrics keeps its own token check.
PROBES: dict[str, Callable[[HttpRequest], Awaitable[HttpResponseBase]]] = {
    "/health": health,
    "/livez": livez,
    "/metrics": _metrics,
}


class ProbeMiddleware:
    """Answer the probe paths (and /metrics) before anything reads the Host header."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        if not iscoroutinefunction(get_response):
            raise TypeError("ProbeMiddleware needs an async middleware chain")
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return await probe(request)
        return await self.get_response(request)
