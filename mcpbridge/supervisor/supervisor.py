"""The worker's supervisor of MCP children: one live child per key, shared by its users.

Plain asyncio, no Django: the registry feeds it specs. Per key it keeps at most one
child taking new uses; a child replaced by a newer credential version stays until its
in-flight uses end (it drains), and is then closed. Refcounts count uses (an open
``acquire`` block), never connections, so nothing idle can pin a child. A lazily started
reaper closes children idle past ``idle_timeout`` or older than ``max_lifetime``.
Children that fail back off with a growing delay and end FATAL after ``max_failures``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcpbridge.supervisor import metrics
from mcpbridge.supervisor.child import Child
from mcpbridge.supervisor.child_client import ChildClient
from mcpbridge.supervisor.child_log import Redactor
from mcpbridge.supervisor.errors import (
    AtCapacityError,
    ChildFailedError,
    ChildRestartingError,
    ChildStartFailedError,
    NoFreeUidError,
    ShuttingDownError,
)
from mcpbridge.supervisor.processes import (
    default_run_root,
    end_process_tree,
    is_running,
    signal_group,
    worker_id,
)
from mcpbridge.supervisor.spec import DEFAULT_PATH, ChildSpec, LaunchConfig, State, replace_secrets
from mcpbridge.supervisor.uids import UidLease, UidPool

logger = logging.getLogger(__name__)

SpecBuilder = Callable[[], Awaitable[ChildSpec]]


@dataclass(frozen=True)
class SupervisorConfig:
    max_children: int = 50
    idle_timeout: float = 600.0
    reap_interval: float = 60.0
    max_lifetime: float | None = None
    init_timeout: float = 20.0
    call_timeout: float = 60.0
    ping_timeout: float = 5.0
    stop_grace: float = 1.0
    kill_grace: float = 2.0
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_failures: int = 5
    stable_after: float = 60.0
    fatal_cooldown: float = 300.0
    run_root: Path = field(default_factory=default_run_root)
    path: str = DEFAULT_PATH
    lang: str = "C.UTF-8"
    #: Every child as this one uid and gid: children can then read each other's environ.
    uid: int | None = None
    gid: int | None = None
    #: Or each live child as a uid of its own from this range (its gid the same number).
    uids: range | None = None
    death_signal: int | None = signal.SIGKILL
    sweep_python: str = sys.executable


@dataclass
class _Slot:
    key: str
    label: str = ""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    current: Child | None = None
    failures: int = 0
    failed_version: int = -1
    retry_at: float = 0.0
    fatal_at: float | None = None

    def clear_failures(self) -> None:
        self.failures, self.retry_at, self.fatal_at = 0, 0.0, None


@dataclass(frozen=True)
class ChildInfo:
    key: str
    label: str
    state: State
    pid: int | None
    version: int | None
    age: float | None
    idle: float | None
    refcount: int
    failures: int
    retry_in: float | None
    last_output: str


class Supervisor:
    def __init__(
        self, config: SupervisorConfig | None = None, *, redact: Redactor = replace_secrets
    ) -> None:
        self.config = config or SupervisorConfig()
        if self.config.uids is not None and (self.config.uid, self.config.gid) != (None, None):
            raise ValueError("a uid range for the children excludes a single uid or gid")
        self.worker = worker_id()
        self.home_root = self.config.run_root / self.worker
        self._launch = LaunchConfig(
            home_root=self.home_root,
            init_timeout=self.config.init_timeout,
            ping_timeout=self.config.ping_timeout,
            stop_grace=self.config.stop_grace,
            kill_grace=self.config.kill_grace,
            path=self.config.path,
            lang=self.config.lang,
            uid=self.config.uid,
            gid=self.config.gid,
            death_signal=self.config.death_signal,
            redact=redact,
            sweep_python=self.config.sweep_python,
        )
        self._slots: dict[str, _Slot] = {}
        self._children: set[Child] = set()
        uids = self.config.uids
        self._uids = UidPool(uids, self.config.run_root) if uids is not None else None
        self._leases: dict[Child, UidLease] = {}
        # Held around capacity decisions, which await an evicted child's exit.
        self._lock = asyncio.Lock()
        self._reserved = 0
        self._seq = itertools.count(1)
        self._reaper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self.closing = False
        metrics.track(self)

    # --- acquiring ---------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def acquire(
        self, key: str, build_spec: SpecBuilder, *, version: int = 0
    ) -> AsyncIterator[ChildClient]:
        """Use the child for ``key``, starting it from ``await build_spec()`` when needed.

        A child started for an older ``version`` takes no new uses. Raises
        ``AtCapacityError``, ``ChildRestartingError``, ``ChildFailedError``,
        ``ChildStartFailedError``, ``ShuttingDownError`` or whatever ``build_spec`` raises.
        """
        child = await self._checkout(key, build_spec, version)
        client = ChildClient(child, self)
        try:
            yield client
        finally:
            client.release()
            self._checkin(child)

    async def _checkout(self, key: str, build_spec: SpecBuilder, version: int) -> Child:
        if self.closing:
            raise ShuttingDownError()
        self._start_reaper()
        slot = self._slots.setdefault(key, _Slot(key))
        if child := self._ready_child(slot, version):
            return self._use(child)
        async with slot.lock:
            if child := self._ready_child(slot, version):
                return self._use(child)
            if self.closing:
                raise ShuttingDownError()
            if slot.current is not None and slot.current.usable:
                self._retire(slot.current, "rotated")
            slot.current = None
            self._check_backoff(slot, version)
            spec = await build_spec()
            return self._use(await self._start_child(slot, spec))

    @staticmethod
    def _ready_child(slot: _Slot, version: int) -> Child | None:
        child = slot.current
        if child is not None and child.usable and child.spec.version >= version:
            return child
        return None

    def _use(self, child: Child) -> Child:
        child.refcount += 1
        return child

    def _checkin(self, child: Child) -> None:
        child.refcount -= 1
        # Idle time only counts while no use is open, so the end of a use is what sets it.
        child.touch()
        if child.refcount == 0 and child.state is State.STOPPING:
            child.request_stop(child.retire_reason or "rotated")

    def _check_backoff(self, slot: _Slot, version: int) -> None:
        now = time.monotonic()
        if version > slot.failed_version:
            slot.clear_failures()
        if slot.fatal_at is not None:
            remaining = slot.fatal_at + self.config.fatal_cooldown - now
            if remaining > 0:
                raise ChildFailedError(retry_after=round(remaining, 1))
            slot.fatal_at = None
            slot.failures = self.config.max_failures - 1
        if now < slot.retry_at:
            raise ChildRestartingError(retry_after=round(slot.retry_at - now, 1))

    def _record_failure(self, slot: _Slot, version: int, uptime: float = 0.0) -> None:
        if uptime >= self.config.stable_after:
            slot.failures = 0
        slot.failures += 1
        slot.failed_version = version
        now = time.monotonic()
        if slot.failures >= self.config.max_failures:
            slot.fatal_at = now
            logger.error(
                "MCP child for %s failed %d times in a row; not restarting it for %gs",
                slot.label or slot.key,
                slot.failures,
                self.config.fatal_cooldown,
            )
            return
        exponent = slot.failures - 2
        delay = 0.0 if exponent < 0 else self.config.backoff_base * 2**exponent
        slot.retry_at = now + min(delay, self.config.backoff_max)

    # --- starting ------------------------------------------------------------------

    async def _start_child(self, slot: _Slot, spec: ChildSpec) -> Child:
        slot.label = spec.tag
        lease = await self._reserve()
        try:
            launch = self._launch
            if lease is not None:
                launch = dataclasses.replace(launch, uid=lease.uid, gid=lease.gid)
            child = Child(spec, launch, seq=next(self._seq), on_exit=self._child_exited)
            if lease is not None:
                self._leases[child] = lease
            self._children.add(child)
        except BaseException:
            self._release_uid(lease)
            raise
        finally:
            self._reserved -= 1
        metrics.SPAWNS.inc()
        started = time.perf_counter()
        try:
            await child.start()
        except ChildStartFailedError:
            if self.closing:
                raise ShuttingDownError() from None
            self._record_failure(slot, spec.version)
            raise
        metrics.SPAWN_SECONDS.observe(time.perf_counter() - started)
        slot.current = child
        return child

    def _prepare_home_root(self) -> None:
        root = self.config.run_root
        root.mkdir(mode=0o711, parents=True, exist_ok=True)
        info = root.lstat()
        if root.is_symlink() or info.st_uid != os.geteuid():
            raise ChildStartFailedError(f"{root} must be a folder owned by this process's user")
        self.home_root.mkdir(mode=0o711, exist_ok=True)

    async def _reserve(self) -> UidLease | None:
        """Make room for one more child: a place under ``max_children`` and, with a range,
        a uid of its own. An idle child is closed for either when there is no other way."""
        async with self._lock:
            while len(self._children) + self._reserved >= self.config.max_children:
                await self._evict(AtCapacityError())
            self._prepare_home_root()
            lease = await self._claim_uid()
            self._reserved += 1
            return lease

    async def _evict(self, refusal: AtCapacityError) -> None:
        victim = self._eviction_candidate()
        if victim is None:
            metrics.AT_CAPACITY.inc()
            raise refusal
        self._retire(victim, "capacity", now=True)
        await victim.wait_stopped()

    async def _claim_uid(self) -> UidLease | None:
        if self._uids is None:
            return None
        while True:
            try:
                lease = self._uids.claim()
            except OSError as exc:
                logger.error("cannot claim a uid for an MCP child: %s", exc)
                raise ChildStartFailedError() from None
            if lease is not None:
                return lease
            uids = self._uids.uids
            logger.warning(
                "every uid of the MCP children's range %d-%d is taken by a live child",
                uids.start,
                uids.stop - 1,
            )
            await self._evict(NoFreeUidError())

    def _release_uid(self, lease: UidLease | None) -> None:
        if lease is not None and self._uids is not None:
            self._uids.release(lease)

    def _eviction_candidate(self) -> Child | None:
        idle = [c for c in self._children if c.refcount == 0 and c.state is not State.STARTING]
        # One already on its way out frees a place without closing another.
        leaving = [c for c in idle if c.state is State.STOPPING]
        pool = leaving or idle
        return min(pool, key=lambda c: c.last_used) if pool else None

    # --- ending --------------------------------------------------------------------

    def _retire(self, child: Child, reason: str, *, now: bool = False) -> None:
        slot = self._slots.get(child.spec.key)
        if slot is not None and slot.current is child:
            slot.current = None
        if child.retire_reason is None:
            child.retire_reason = reason
        child.retire()
        if now or child.refcount == 0:
            child.request_stop(reason)

    def _child_exited(self, child: Child) -> None:
        # The process and its group are gone by now: its uid may go to the next child.
        self._release_uid(self._leases.pop(child, None))
        self._children.discard(child)
        slot = self._slots.get(child.spec.key)
        if slot is not None and slot.current is child:
            slot.current = None
        if not child.crashed:
            if child.stop_reason in metrics.REAP_REASONS:
                metrics.REAPS.labels(child.stop_reason).inc()
            return
        metrics.CRASHES.inc()
        if child.ran and slot is not None and not self.closing:
            logger.warning(
                "MCP child %s for %s %s",
                child.pid,
                child.spec.tag,
                "stopped answering" if child.stop_reason == "unresponsive" else "exited",
            )
            self._record_failure(slot, child.spec.version, time.monotonic() - child.started_at)

    def background(self, awaitable: Awaitable[Any]) -> None:
        """Keep a task of ours referenced until it ends; its failure is logged."""
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("MCP supervisor task failed", exc_info=task.exception())

    def suspect(self, child: Child) -> None:
        """A call timed out: if the child no longer answers a ping, end it as hung."""
        if child.probing or child.session is None:
            return
        child.probing = True
        self.background(self._probe(child))

    async def _probe(self, child: Child) -> None:
        try:
            if not await child.probe():
                child.request_stop("unresponsive")
        finally:
            child.probing = False

    def recycle(self, key: str, *, version: int | None = None, revoke: bool = False) -> int:
        """Credentials of ``key`` changed: retire children older than ``version``.

        With ``revoke`` every child of ``key`` closes at once, in-flight calls included.
        Returns how many children were retired.
        """
        slot = self._slots.get(key)
        if slot is not None and version is not None and version > slot.failed_version:
            slot.clear_failures()
        retired = 0
        for child in [c for c in self._children if c.spec.key == key]:
            if revoke:
                self._retire(child, "revoked", now=True)
            elif version is None or child.spec.version < version:
                self._retire(child, "rotated")
            else:
                continue
            retired += 1
        return retired

    async def stop(self, key: str) -> int:
        """Close every child of ``key`` now and forget its failures (the admin's stop)."""
        children = [c for c in self._children if c.spec.key == key]
        for child in children:
            self._retire(child, "admin", now=True)
        if slot := self._slots.get(key):
            slot.clear_failures()
        await asyncio.gather(*(c.wait_stopped() for c in children))
        return len(children)

    async def shutdown(self) -> None:
        """Close every child (stdin, SIGTERM to its group, SIGKILL) and refuse new uses."""
        self.closing = True
        if self._reaper is not None:
            self._reaper.cancel()
        children = list(self._children)
        for child in children:
            self._retire(child, "shutdown", now=True)
        await asyncio.gather(*(c.wait_stopped() for c in children))

    def kill_now(self, wait: float = 2.0) -> None:
        """Last resort when no event loop runs any more (interpreter exit): SIGKILL all."""
        self.closing = True
        pids = list(self.live_pids())
        for pid in pids:
            signal_group(pid, signal.SIGKILL)
        # Every child's HOME is under home_root: one scan ends what left their groups.
        end_process_tree(
            self.home_root,
            uid=self.config.uid,
            gid=self.config.gid,
            python=self.config.sweep_python,
        )
        deadline = time.monotonic() + wait
        while any(is_running(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.01)

    # --- reaping ---------------------------------------------------------------------

    def _start_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_forever(), name="mcp-reaper")

    async def _reap_forever(self) -> None:
        while not self.closing:
            await asyncio.sleep(self.config.reap_interval)
            try:
                self.reap()
            except Exception:
                logger.exception("MCP reaper pass failed")

    def reap(self) -> int:
        """Close idle children past ``idle_timeout`` and idle ones past ``max_lifetime``."""
        now = time.monotonic()
        closed = 0
        for slot in list(self._slots.values()):
            child = slot.current
            if child is None or not child.usable or child.refcount:
                continue
            if now - child.last_used >= self.config.idle_timeout:
                self._retire(child, "idle")
            elif self.config.max_lifetime and now - child.started_at >= self.config.max_lifetime:
                self._retire(child, "lifetime")
            else:
                continue
            closed += 1
        self._forget_empty_slots()
        return closed

    def _forget_empty_slots(self) -> None:
        for key, slot in list(self._slots.items()):
            if slot.current is None and not slot.failures and not slot.lock.locked():
                del self._slots[key]

    # --- looking -----------------------------------------------------------------------

    def live_pids(self) -> Iterable[int]:
        return [c.pid for c in list(self._children) if c.pid is not None and c.alive]

    def snapshot(self) -> list[ChildInfo]:
        now = time.monotonic()
        rows = [self._child_info(child, now) for child in self._children]
        for slot in self._slots.values():
            if slot.current is None and (slot.fatal_at is not None or slot.retry_at > now):
                rows.append(self._slot_info(slot, now))
        return sorted(rows, key=lambda row: (row.label, row.age or 0))

    def _child_info(self, child: Child, now: float) -> ChildInfo:
        slot = self._slots.get(child.spec.key)
        return ChildInfo(
            key=child.spec.key,
            label=child.spec.tag,
            state=child.state,
            pid=child.pid,
            version=child.spec.version,
            age=now - child.started_at,
            idle=0.0 if child.refcount else now - child.last_used,
            refcount=child.refcount,
            failures=slot.failures if slot else 0,
            retry_in=None,
            last_output=child.log.tail[-1] if child.log.tail else "",
        )

    def _slot_info(self, slot: _Slot, now: float) -> ChildInfo:
        fatal = slot.fatal_at is not None
        until = slot.fatal_at + self.config.fatal_cooldown if slot.fatal_at else slot.retry_at
        return ChildInfo(
            key=slot.key,
            label=slot.label or slot.key,
            state=State.FATAL if fatal else State.BACKOFF,
            pid=None,
            version=slot.failed_version,
            age=None,
            idle=None,
            refcount=0,
            failures=slot.failures,
            retry_in=max(0.0, until - now),
            last_output="",
        )
