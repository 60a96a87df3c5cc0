"""The MCP client handed out by ``Supervisor.acquire``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from mcpbridge.supervisor import metrics
from mcpbridge.supervisor.child import Child
from mcpbridge.supervisor.errors import (
    BridgeError,
    CallTimeoutError,
    ChildCrashedError,
    ChildStoppedError,
    ShuttingDownError,
    ToolCallFailedError,
)

if TYPE_CHECKING:
    from mcpbridge.supervisor.supervisor import Supervisor

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, float | None, str | None], Awaitable[None]]


class ChildClient:
    """The MCP client handed out by ``acquire``: valid inside its block only.

    Every call is bounded by ``call_timeout`` (a hard cap: progress does not extend it)
    and turns transport failures into ``BridgeError`` subclasses.
    """

    def __init__(self, child: Child, supervisor: Supervisor) -> None:
        self._child: Child | None = child
        self._supervisor = supervisor
        self.key = child.spec.key
        self.pid = child.pid
        self.version = child.spec.version

    def release(self) -> None:
        self._child = None

    def _live(self) -> Child:
        if self._child is None:
            raise ChildStoppedError("This tool session has ended.")
        return self._child

    def _limit(self, time_limit: float | None) -> float:
        cap = self._supervisor.config.call_timeout
        return cap if time_limit is None else min(time_limit, cap)

    async def list_tools(self) -> types.ListToolsResult:
        child = self._live()
        return await self._bounded(child, self._limit(None), child.list_tools)

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        time_limit: float | None = None,
        progress_callback: ProgressCallback | None = None,
    ) -> types.CallToolResult:
        child = self._live()
        started = time.perf_counter()
        outcome = "error"
        try:
            result: types.CallToolResult = await self._bounded(
                child,
                self._limit(time_limit),
                lambda: child.call_tool(name, arguments, progress_callback),
            )
            outcome = "tool_error" if result.is_error else "ok"
            return result
        except CallTimeoutError:
            outcome = "timeout"
            raise
        except (ChildCrashedError, ChildStoppedError, ShuttingDownError):
            outcome = "crashed"
            raise
        finally:
            metrics.TOOL_CALL_SECONDS.observe(time.perf_counter() - started)
            metrics.TOOL_CALLS.labels(outcome).inc()

    async def _bounded(self, child: Child, limit: float, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            async with asyncio.timeout(limit) as deadline:
                return await call()
        except TimeoutError:
            if not deadline.expired():
                raise ToolCallFailedError() from None
            self._supervisor.suspect(child)
            raise CallTimeoutError() from None
        except MCPError as exc:
            if child.is_closed_error(exc):
                raise child.closed_error() from None
            text = child.config.redact(exc.message, child.spec.secrets)[:300]
            raise ToolCallFailedError(text or None) from None
        except BridgeError:
            raise
        except (ValidationError, RuntimeError) as exc:
            logger.warning("MCP child for %s answered badly: %s", child.spec.tag, exc)
            raise ToolCallFailedError() from None
