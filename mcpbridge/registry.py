"""The worker's registry of tenant MCP children: the Django side of the supervisor.

``get_registry()`` returns this worker's registry (one per event loop: daphne runs one).
``async with get_registry().acquire(tenant) as client:`` yields a live MCP client for
the tenant's child. A use is one ``acquire`` block: hold it for a tool call or an agent
turn, never for the life of a websocket, or the child can never be reaped.

The supervisor (and with it the MCP SDK, slow to import) loads on first use, not when
Django starts, so management commands stay quick.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime
import logging
import sys
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from config.logging import redact
from mcpbridge.supervisor.errors import TenantUnavailable
from mcpbridge.supervisor.processes import default_run_root, remove_dead_worker_dirs, sweep_marked

if TYPE_CHECKING:
    from mcpbridge.supervisor.child_client import ChildClient
    from mcpbridge.supervisor.spec import ChildSpec
    from mcpbridge.supervisor.supervisor import ChildInfo, Supervisor, SupervisorConfig

logger = logging.getLogger(__name__)


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Registry] = (
    weakref.WeakKeyDictionary()
)
_swept = False


def tenant_key(tenant_id: int | str) -> str:
    return str(tenant_id)


# --- the tenants contract -------------------------------------------------------------


async def tenant_secret_version(tenant: Any) -> int:
    """The tenant's credential version, refreshing a token about to expire first."""
    from tenants.credentials import CredentialsError, aget_valid_token
    from tenants.models import TenantSecret

    rows = TenantSecret.objects.filter(tenant_id=tenant.pk).values_list("version", "expires_at")
    row = await rows.afirst()
    if row is None:
        raise TenantUnavailable()
    version, expires_at = row
    margin = datetime.timedelta(seconds=settings.GHL_TOKEN_REFRESH_MARGIN)
    if expires_at is None or expires_at > timezone.now() + margin:
        return int(version)
    try:
        await aget_valid_token(tenant)
    except CredentialsError as exc:
        raise TenantUnavailable() from exc
    return int(await rows.values_list("version", flat=True).afirst() or version)


async def tenant_child_credentials(tenant: Any) -> Any:
    """A valid token with its version and location, read together."""
    from tenants.credentials import CredentialsError, aget_valid_token, get_tenant_secrets

    try:
        await aget_valid_token(tenant)
        return await sync_to_async(get_tenant_secrets)(tenant)
    except CredentialsError as exc:
        raise TenantUnavailable() from exc


# --- the registry -------------------------------------------------------------------


def run_root() -> Path:
    return Path(settings.MCP_RUN_DIR) if settings.MCP_RUN_DIR else default_run_root()


def sweep_at_start() -> None:
    """End children that a worker which is gone left behind (their HOME names it)."""
    root = run_root()
    ended = sweep_marked(root)
    remove_dead_worker_dirs(root)
    if ended:
        logger.warning("ended %d MCP children left by a worker that is gone", len(ended))


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
        run_root=run_root(),
    )


class Registry:
    def __init__(self, supervisor: Supervisor, loop: asyncio.AbstractEventLoop) -> None:
        self.supervisor = supervisor
        self.loop = loop

    @contextlib.asynccontextmanager
    async def acquire(self, tenant: Any) -> AsyncIterator[ChildClient]:
        """Use ``tenant``'s child, started on first use with its current credentials.

        Raises ``TenantUnavailable`` (not usable, no or unrefreshable credentials),
        ``AtCapacity``, ``ChildRestarting``, ``ChildFailed``, ``ChildStartFailed`` or
        ``ShuttingDown``; calls on the client raise ``CallTimeout``, ``ChildCrashed``,
        ``ChildStopped`` or ``ToolCallFailed``. All are ``mcpbridge.supervisor.errors.BridgeError``.
        """
        if not tenant.is_usable:
            raise TenantUnavailable()
        version = await tenant_secret_version(tenant)

        async def build() -> ChildSpec:
            return await self.spec_for(tenant)

        key = tenant_key(tenant.pk)
        async with self.supervisor.acquire(key, build, version=version) as client:
            yield client

    async def spec_for(self, tenant: Any) -> ChildSpec:
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

    global _swept
    supervisor = Supervisor(supervisor_config(), redact=redact)
    if not _swept and settings.MCP_CHILD_UID is not None:
        _swept = True
        # Children of another uid hide their environ from the sweep run at start; this
        # one runs as that uid, off the loop (it starts a short helper process).
        sweep = partial(supervisor.sweep_leftovers, cwd=str(settings.BASE_DIR))
        supervisor.background(loop.run_in_executor(None, sweep))
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
        registry.call_soon(lambda s=supervisor: s.recycle(key, version=version, revoke=revoke))


async def health_detail() -> dict[str, Any]:
    """``/health`` detail: how many children this worker runs, by state. No tenant names."""
    registry = _registries.get(asyncio.get_running_loop())
    rows = registry.children() if registry else []
    return {
        "children": sum(1 for row in rows if row.pid is not None),
        "max_children": settings.MCP_MAX_CHILDREN,
        "states": dict(Counter(str(row.state) for row in rows)),
    }
