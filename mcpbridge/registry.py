"""The worker's registry of tenant MCP children: the Django side of the supervisor.

``get_registry()`` returns this worker's registry (one per event loop: daphne runs one).
``async with get_registry().acquire(tenant) as client:`` yields a live MCP client for
the tenant's child. A use is one ``acquire`` block: hold it for a tool call or an agent
turn, never for the life of a websocket, or the child can never be reaped.

The supervisor (and with it the MCP SDK, slow to import) loads on first use, not when
Django starts, so management commands stay quick. Nothing here runs at import or in
``ready()``: the sweep of children that a dead worker left runs once, when a server
starts serving (:func:`sweeping_at_first_serve` wraps the ASGI application), so that
``migrate`` or ``check`` never scan ``/proc`` or end a process.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import sys
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from channels.db import database_sync_to_async
from django.conf import settings

from config.logging import redact
from mcpbridge.supervisor.errors import BridgeError, GhlUnavailableError, TenantUnavailableError
from mcpbridge.supervisor.processes import default_run_root, sweep_leftovers

if TYPE_CHECKING:
    from mcpbridge.supervisor.child_client import ChildClient
    from mcpbridge.supervisor.spec import ChildSpec
    from mcpbridge.supervisor.supervisor import ChildInfo, Supervisor, SupervisorConfig
    from tenants.models import Tenant

logger = logging.getLogger(__name__)


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Registry] = (
    weakref.WeakKeyDictionary()
)
_sweep_started = False


def tenant_key(tenant_id: int | str) -> str:
    return str(tenant_id)


# --- the tenants contract -------------------------------------------------------------


async def tenant_secret_version(tenant: Tenant) -> int:
    """The tenant's credential version, refreshing a token about to expire first."""
    from tenants.credentials import CredentialsError, aget_valid_token_version

    try:
        return await aget_valid_token_version(tenant)
    except CredentialsError as exc:
        raise unavailable(exc) from exc


async def tenant_child_credentials(tenant: Tenant) -> Any:
    """A valid token with its version and location, read together."""
    from tenants.credentials import CredentialsError, aget_valid_token, get_tenant_secrets

    try:
        await aget_valid_token(tenant)
        return await database_sync_to_async(get_tenant_secrets)(tenant)
    except CredentialsError as exc:
        raise unavailable(exc) from exc


#: When a refresh failed for a reason that passes, callers may try again after this.
GHL_RETRY_AFTER = 5.0


def unavailable(exc: Exception) -> BridgeError:
    """What a caller is told when the tenant's credentials cannot be used.

    A refresh that failed for a passing reason (GHL down, throttling, the network) is
    ``ghl_unavailable`` with a retry hint; anything else needs a person (sign in again,
    enable the tenant) and is ``tenant_unavailable``.
    """
    if getattr(exc, "permanent", True):
        return TenantUnavailableError()
    return GhlUnavailableError(retry_after=getattr(exc, "retry_after", None) or GHL_RETRY_AFTER)


# --- the registry -------------------------------------------------------------------


def run_root() -> Path:
    return Path(settings.MCP_RUN_DIR) if settings.MCP_RUN_DIR else default_run_root()


def sweeping_at_first_serve(app: ASGI3Application) -> ASGI3Application:
    """Wrap an ASGI application so that its first connection starts the leftovers sweep.

    daphne has no ASGI lifespan, so the first scope a server hands the application is
    the first sign that it serves. The sweep runs once per process, off the event loop
    (it scans ``/proc`` and may start a helper as the children's uid); the connection
    does not wait for it.
    """

    async def serve(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        global _sweep_started
        if not _sweep_started:
            _sweep_started = True
            _sweep_in_background(asyncio.get_running_loop())
        await app(scope, receive, send)

    return serve


def _sweep_in_background(loop: asyncio.AbstractEventLoop) -> None:
    def report(future: asyncio.Future[list[int]]) -> None:
        if not future.cancelled() and future.exception() is not None:
            logger.warning("the leftovers sweep failed: %r", future.exception())

    sweep = partial(
        sweep_leftovers,
        run_root(),
        uid=settings.MCP_CHILD_UID,
        gid=settings.MCP_CHILD_GID,
        uids=settings.MCP_CHILD_UIDS,
        # The sweep as the children's uid runs `python -m` from here, as the children do.
        cwd=str(settings.BASE_DIR),
    )
    loop.run_in_executor(None, sweep).add_done_callback(report)


def supervisor_config() -> SupervisorConfig:
    from mcpbridge.supervisor.supervisor import SupervisorConfig

    return SupervisorConfig(
        max_children=settings.MCP_MAX_CHILDREN,
        idle_timeout=settings.MCP_IDLE_TIMEOUT,
        reap_interval=settings.MCP_REAP_INTERVAL,
        max_lifetime=settings.MCP_MAX_LIFETIME,
        init_timeout=settings.MCP_INIT_TIMEOUT,
        call_timeout=settings.MCP_CALL_TIMEOUT,
        uid=settings.MCP_CHILD_UID,
        gid=settings.MCP_CHILD_GID,
        uids=settings.MCP_CHILD_UIDS,
        run_root=run_root(),
    )


class Registry:
    def __init__(self, supervisor: Supervisor, loop: asyncio.AbstractEventLoop) -> None:
        self.supervisor = supervisor
        self.loop = loop

    @contextlib.asynccontextmanager
    async def acquire(self, tenant: Tenant) -> AsyncIterator[ChildClient]:
        """Use ``tenant``'s child, started on first use with its current credentials.

        Raises ``TenantUnavailableError`` (not usable, no or unrefreshable credentials),
        ``AtCapacityError``, ``ChildRestartingError``, ``ChildFailedError``,
        ``ChildStartFailedError`` or ``ShuttingDownError``; calls on the client raise
        ``CallTimeoutError``, ``ChildCrashedError``, ``ChildStoppedError`` or
        ``ToolCallFailedError``. All are ``mcpbridge.supervisor.errors.BridgeError``.
        """
        if not tenant.is_usable:
            raise TenantUnavailableError()
        version = await tenant_secret_version(tenant)

        async def build() -> ChildSpec:
            return await self.spec_for(tenant)

        key = tenant_key(tenant.pk)
        async with self.supervisor.acquire(key, build, version=version) as client:
            yield client

    async def spec_for(self, tenant: Tenant) -> ChildSpec:
        from mcpbridge.supervisor.spec import ChildSpec

        credentials = await tenant_child_credentials(tenant)
        token = credentials.access_token
        return ChildSpec(
            key=tenant_key(tenant.pk),
            label=tenant.slug,
            command=tuple(settings.MCP_SERVER_COMMAND),
            env={
                "GHL_ACCESS_TOKEN": token,
                "GHL_API_KEY": token,
                "GHL_LOCATION_ID": credentials.location_id or tenant.location_id,
                "GHL_BASE_URL": settings.GHL_BASE_URL,
            },
            version=credentials.version,
            secrets=tuple(s for s in (token, credentials.refresh_token) if s),
            # `python -m mcpbridge.ghl` must find the package; the child gets no PYTHONPATH.
            cwd=str(settings.BASE_DIR),
        )

    def children(self) -> list[ChildInfo]:
        return self.supervisor.snapshot()

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on this registry's loop, from any thread."""
        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            callback()
        else:
            self.loop.call_soon_threadsafe(callback)

    async def shutdown(self) -> None:
        await self.supervisor.shutdown()
        atexit.unregister(self.supervisor.kill_now)

    def shutdown_deferred(self) -> Any:
        """daphne's shutdown waits on this (a Twisted "before shutdown" trigger)."""
        from twisted.internet.defer import Deferred

        return Deferred.fromFuture(self.loop.create_task(self.shutdown()))


def get_registry() -> Registry:
    """This worker's registry; created, with its exit hooks, on first use in a loop."""
    loop = asyncio.get_running_loop()
    registry = _registries.get(loop)
    if registry is None:
        registry = _registries[loop] = _new_registry(loop)
    return registry


def _new_registry(loop: asyncio.AbstractEventLoop) -> Registry:
    from mcpbridge.supervisor.supervisor import Supervisor

    supervisor = Supervisor(supervisor_config(), redact=redact)
    registry = Registry(supervisor, loop)
    _install_exit_hooks(registry)
    return registry


def _install_exit_hooks(registry: Registry) -> None:
    # daphne has no ASGI lifespan. It runs Twisted, which turns SIGTERM and SIGINT into a
    # reactor shutdown and waits for the Deferreds of "before shutdown" triggers: there the
    # children close in order. atexit covers every other exit, and the parent-death
    # signal a worker killed outright.
    atexit.register(registry.supervisor.kill_now)
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is not None and getattr(reactor, "running", False):
        reactor.addSystemEventTrigger("before", "shutdown", registry.shutdown_deferred)


def on_credentials_changed(
    sender: object, *, tenant_id: int, version: int, revoke: bool = False, **kwargs: object
) -> None:
    """Receiver of ``tenants.signals.credentials_changed`` (sent on commit, any thread)."""
    key = tenant_key(tenant_id)
    for registry in list(_registries.values()):
        supervisor = registry.supervisor
        registry.call_soon(partial(supervisor.recycle, key, version=version, revoke=revoke))


async def health_detail() -> dict[str, Any]:
    """``/health`` detail: how many children this worker runs, by state. No tenant names."""
    registry = _registries.get(asyncio.get_running_loop())
    rows = registry.children() if registry else []
    return {
        "children": sum(1 for row in rows if row.pid is not None),
        "max_children": settings.MCP_MAX_CHILDREN,
        "states": dict(Counter(str(row.state) for row in rows)),
    }
