"""One MCP child process: how it starts, talks, logs and ends.

The protocol is the MCP SDK's ``ClientSession``; the transport under it is ours. The
SDK's ``stdio_client`` merges part of the parent's environment (HOME, USER, SHELL...)
into the child's, sends stderr to a file descriptor instead of a reader we control,
and has no hook for the uid/gid switch or the parent-death signal. Here the child gets
exactly the environment in its spec, its stderr is read all the time into the
``mcpbridge.child`` log (redacted, tagged with the tenant, rate-bounded) like the stdout
lines that are not JSON-RPC, it leads its own process group, its exit is seen through
a pidfd even if a grandchild keeps its pipes open, and what it started ends with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio
import mcp_types as types
from mcp.client.session import ClientSession, IncomingMessage
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

from mcpbridge.supervisor.child_log import MAX_LOG_LINE, ChildLog
from mcpbridge.supervisor.errors import (
    BridgeError,
    ChildCrashedError,
    ChildStartFailedError,
    ChildStoppedError,
    ChildUnresponsiveError,
    ShuttingDownError,
)
from mcpbridge.supervisor.processes import (
    child_preexec,
    end_process_tree,
    remove_tree,
    signal_group,
)
from mcpbridge.supervisor.spec import ChildSpec, LaunchConfig, State
from mcpbridge.supervisor.transport import (
    Incoming,
    Outgoing,
    drain_lines,
    pump_stdin,
    pump_stdout,
    read_chunk,
)

logger = logging.getLogger(__name__)

CLIENT_INFO = types.Implementation(name="ghl-agent-hub", version="1")
# After SIGKILL only an unkillable (D-state) process outlasts this.
_KILL_WAIT = 2.0
# Enough bytes for MAX_LOG_LINE characters of any encoding, and a margin to redact in.
_STRAY_BYTES = 8 * MAX_LOG_LINE


class Child:
    """A single process for one spec; it never restarts (the supervisor makes a new one)."""

    def __init__(
        self, spec: ChildSpec, config: LaunchConfig, *, seq: int, on_exit: Callable[[Child], None]
    ) -> None:
        self.spec = spec
        self.config = config
        self.home = config.home_root / f"c{seq}"
        self.state = State.STARTING
        self.pid: int | None = None
        self.refcount = 0
        self.started_at = time.monotonic()
        self.last_used = self.started_at
        self.stop_reason: str | None = None
        self.retire_reason: str | None = None
        self.ran = False
        self.probing = False
        self.log = ChildLog(spec.tag, spec.secrets, config.redact)
        self.session: ClientSession | None = None
        self._on_exit = on_exit
        self._process: asyncio.subprocess.Process | None = None
        self._pidfd: int | None = None
        self._stop = asyncio.Event()
        self._exited = asyncio.Event()
        self._done = asyncio.Event()
        self._closed_pipe = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tools: types.ListToolsResult | None = None
        self._tools_generation = 0
        self._tools_lock = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        """Spawn and initialise; raises ``ChildStartFailedError`` with the child already gone."""
        try:
            self._process = await self._spawn()
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            logger.warning("cannot start the MCP child for %s: %s", self.spec.tag, exc)
            self._finish()
            raise ChildStartFailedError() from None
        self.pid = self._process.pid
        self._watch_exit()
        self._background(self._drain_stderr(), "stderr")
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._background(self._run(ready), "session")
        try:
            await asyncio.shield(ready)
        except asyncio.CancelledError:
            self.request_stop("cancelled")
            raise
        except ChildStartFailedError:
            await self._done.wait()
            raise
        self.state = State.RUNNING
        self.ran = True

    def request_stop(self, reason: str) -> None:
        """Ask the child to end (``reason`` is kept for errors and metrics); non-blocking."""
        if self.stop_reason is None:
            self.stop_reason = reason
        if self.state is not State.STOPPED:
            self.state = State.STOPPING
        self._stop.set()

    async def wait_stopped(self) -> None:
        await self._done.wait()

    @property
    def crashed(self) -> bool:
        return self.stop_reason in {None, "crashed", "unresponsive"}

    @property
    def alive(self) -> bool:
        return self.pid is not None and not self._done.is_set()

    @property
    def usable(self) -> bool:
        """Can a new use start here? (A retired child only finishes the uses it has.)"""
        return self.state is State.RUNNING and not self._stop.is_set()

    def retire(self) -> None:
        if self.state is State.RUNNING:
            self.state = State.STOPPING

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def closed_error(self) -> BridgeError:
        reason = self.stop_reason
        if reason == "unresponsive":
            return ChildUnresponsiveError()
        if reason in {None, "crashed"}:
            return ChildCrashedError()
        if reason == "shutdown":
            return ShuttingDownError()
        return ChildStoppedError()

    def is_closed_error(self, exc: MCPError) -> bool:
        # -32000 is also the first server-defined code: only a closed pipe makes it ours.
        gone = self._closed_pipe or self._stop.is_set() or self._exited.is_set()
        return exc.code == types.CONNECTION_CLOSED and gone

    # --- spawning -------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        return {
            **self.spec.env,
            "PATH": self.config.path,
            "LANG": self.config.lang,
            "HOME": str(self.home),
        }

    def _make_home(self) -> None:
        self.home.mkdir(mode=0o700)
        if self.config.uid is not None or self.config.gid is not None:
            uid = -1 if self.config.uid is None else self.config.uid
            gid = -1 if self.config.gid is None else self.config.gid
            os.chown(self.home, uid, gid)

    async def _spawn(self) -> asyncio.subprocess.Process:
        self._make_home()
        identity: dict[str, Any] = {}
        if self.config.uid is not None:
            identity["user"] = self.config.uid
        if self.config.gid is not None:
            identity["group"] = self.config.gid
        if identity:
            identity["extra_groups"] = []
        return await asyncio.create_subprocess_exec(
            *self.spec.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.environment(),
            cwd=self.spec.cwd,
            start_new_session=True,
            preexec_fn=child_preexec(os.getpid(), self.config.death_signal),
            **identity,
        )

    def _proc(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise RuntimeError("the child process was not started")
        return self._process

    def _watch_exit(self) -> None:
        try:
            self._pidfd = os.pidfd_open(self._proc().pid)
        except (AttributeError, OSError):
            self._background(self._wait_exit(), "exit")
            return
        asyncio.get_running_loop().add_reader(self._pidfd, self._on_exit_seen)

    async def _wait_exit(self) -> None:
        # Without pidfds (not Linux) the exit is seen once the pipes close too.
        await self._proc().wait()
        self._on_exit_seen()

    def _on_exit_seen(self) -> None:
        self._close_pidfd()
        if self.stop_reason is None:
            self.stop_reason = "crashed"
        self._exited.set()
        self._stop.set()

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None

    def _background(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=f"mcp-child-{self.spec.key}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the session ------------------------------------------------------------

    async def _run(self, ready: asyncio.Future[None]) -> None:
        try:
            await self._serve(ready)
        except Exception:
            logger.exception("MCP child session for %s failed", self.spec.tag)
        finally:
            if not ready.done():
                ready.set_exception(ChildStartFailedError())
            await self._terminate()
            self._finish()

    async def _serve(self, ready: asyncio.Future[None]) -> None:
        read_send, read_receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        write_send, write_receive = anyio.create_memory_object_stream[SessionMessage](0)
        async with anyio.create_task_group() as pumps:
            pumps.start_soon(self._pump_stdout, read_send)
            pumps.start_soon(self._pump_stdin, write_receive)
            session = ClientSession(
                read_receive,
                write_send,
                message_handler=self._on_message,
                logging_callback=self._on_log,
                client_info=CLIENT_INFO,
            )
            async with session:
                if await self._initialise(session, ready):
                    self.session = session
                    ready.set_result(None)
                    await self._stop.wait()
            pumps.cancel_scope.cancel()

    async def _initialise(self, session: ClientSession, ready: asyncio.Future[None]) -> bool:
        handshake = asyncio.ensure_future(session.initialize())
        stopped = asyncio.ensure_future(self._stop.wait())
        done, _ = await asyncio.wait(
            {handshake, stopped},
            timeout=self.config.init_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        stopped.cancel()
        if handshake in done and handshake.exception() is None:
            return True
        handshake.cancel()
        with contextlib.suppress(BaseException):
            await handshake
        why = "timed out" if not done else "ended" if handshake not in done else "failed"
        self.request_stop("unresponsive" if not done else "crashed")
        tail = " | ".join(self.log.tail)
        logger.warning(
            "MCP child for %s %s during initialise%s",
            self.spec.tag,
            why,
            f"; last output: {tail}" if tail else "",
        )
        ready.set_exception(ChildStartFailedError())
        return False

    async def _pump_stdout(self, send: Incoming) -> None:
        stdout = self._proc().stdout
        if stdout is None:
            return
        if await pump_stdout(stdout, send, on_stray=self._stray, on_oversized=self._oversized):
            self._pipe_closed()

    def _stray(self, line: bytes) -> None:
        # Decoded no further than the log keeps: a stray line may be megabytes long.
        self.log.stray(line[:_STRAY_BYTES].decode(errors="replace"))

    def _oversized(self) -> None:
        logger.warning("MCP child for %s sent an oversized message", self.spec.tag)
        self.request_stop("crashed")

    async def _pump_stdin(self, receive: Outgoing) -> None:
        stdin = self._proc().stdin
        if stdin is not None and not await pump_stdin(stdin, receive):
            self._pipe_closed()

    def _pipe_closed(self) -> None:
        # A child whose pipe is gone takes no new use, even before its exit is seen.
        self._closed_pipe = True
        self._stop.set()

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.drop_tools()

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.log.line(str(params.data))

    # --- stderr -------------------------------------------------------------------

    async def _drain_stderr(self) -> None:
        stderr = self._proc().stderr
        if stderr is None:
            return
        await drain_lines(stderr, self.log.line, max_line=MAX_LOG_LINE)
        self.log.flush()

    # --- ending -------------------------------------------------------------------

    async def _wait_exited(self, within: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._exited.wait(), within)
        return self._exited.is_set()

    async def _terminate(self) -> None:
        """Close stdin, then SIGTERM to the group, then SIGKILL: each step bounded."""
        process, pid = self._process, self.pid
        if process is None or pid is None:
            return
        if not self._exited.is_set():
            if process.stdin is not None:
                process.stdin.close()
            # A hung child will not act on a closed stdin: no point waiting for it.
            grace = 0.0 if self.stop_reason == "unresponsive" else self.config.stop_grace
            if not await self._wait_exited(grace):
                signal_group(pid, signal.SIGTERM)
                if not await self._wait_exited(self.config.kill_grace):
                    signal_group(pid, signal.SIGKILL)
                    await self._wait_exited(_KILL_WAIT)
        # What the server started in its group goes with it, and frees the pipes.
        signal_group(pid, signal.SIGKILL)
        await self._end_tree()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._discard_output(process), _KILL_WAIT)
        if process.returncode is None:
            logger.error("MCP child %s for %s outlived SIGKILL", pid, self.spec.tag)

    async def _end_tree(self) -> None:
        """End what left the group too (``setsid``): it still carries the child's HOME."""
        end = partial(
            end_process_tree,
            self.home,
            uid=self.config.uid,
            gid=self.config.gid,
            python=self.config.sweep_python,
            cwd=self.spec.cwd,
        )
        ended = await asyncio.to_thread(end)
        if ended:
            logger.info(
                "ended %d processes the MCP child for %s left behind", len(ended), self.spec.tag
            )

    async def _discard_output(self, process: asyncio.subprocess.Process) -> None:
        # Unread output would keep the pipe, and so wait(), from ever finishing.
        if process.stdout is not None:
            while await read_chunk(process.stdout):
                pass
        await process.wait()

    def _finish(self) -> None:
        if self.pid is not None and self._pidfd is not None:
            self._close_pidfd()
        self.log.flush()
        self.session = None
        self.state = State.STOPPED
        remove_tree(self.home)
        if not self._done.is_set():
            self._done.set()
            self._on_exit(self)

    # --- tools ------------------------------------------------------------------------

    def drop_tools(self) -> None:
        self._tools = None
        self._tools_generation += 1

    async def list_tools(self) -> types.ListToolsResult:
        if self._tools is not None:
            return self._tools
        async with self._tools_lock:
            if self._tools is not None:
                return self._tools
            generation = self._tools_generation
            result = await self._fetch_tools()
            # A list_changed that arrived during the fetch makes this listing stale.
            if generation == self._tools_generation:
                self._tools = result
            return result

    async def _fetch_tools(self) -> types.ListToolsResult:
        session = self._session()
        tools: list[types.Tool] = []
        cursor: str | None = None
        while True:
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                return types.ListToolsResult(tools=tools)

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None,
        progress_callback: Callable[[float, float | None, str | None], Awaitable[None]] | None,
    ) -> types.CallToolResult:
        return await self._session().call_tool(
            name,
            arguments,
            # The SDK's ProgressFnT names its parameters but calls them positionally.
            progress_callback=progress_callback,  # type: ignore[arg-type]
        )

    async def probe(self) -> bool:
        """Does the child still answer a ping within ``ping_timeout``?"""
        try:
            await asyncio.wait_for(self._session().send_ping(), self.config.ping_timeout)
        except (TimeoutError, MCPError, BridgeError):
            return False
        return True

    def _session(self) -> ClientSession:
        if self.session is None or self._stop.is_set():
            raise self.closed_error()
        return self.session
