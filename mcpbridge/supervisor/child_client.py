"""The MCP client handed out by ``Supervisor.acquire``."""

from __future__ import annotations

import asyncio
import json
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
REDACTED = "[redacted]"


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
        if progress_callback is not None:
            progress_callback = _scrubbed_progress(progress_callback, child)
        try:
            result: types.CallToolResult = await self._bounded(
                child,
                self._limit(time_limit),
                lambda: child.call_tool(name, arguments, progress_callback),
            )
            outcome = "tool_error" if result.is_error else "ok"
            return result_scrubbed(result, child.spec.secrets)
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


# A tenant's own token can come back in what its child answers: GHL puts request
# details in some error bodies, and a server may echo its environment. Nothing a child
# answers reaches a page, the model or a stored conversation with it.


def _secret_forms(secrets: tuple[str, ...]) -> list[tuple[str, str]]:
    # As it appears in the JSON of the result: written as is, or escaped.
    forms: list[tuple[str, str]] = []
    for secret in secrets:
        if secret:
            forms.append((secret, REDACTED))
            escaped = json.dumps(secret)[1:-1]
            if escaped != secret:
                forms.append((escaped, REDACTED))
    return forms


def result_scrubbed(result: types.CallToolResult, secrets: tuple[str, ...]) -> types.CallToolResult:
    """``result`` with every occurrence of ``secrets`` replaced, anywhere in it."""
    forms = _secret_forms(secrets)
    if not forms:
        return result
    encoded = result.model_dump_json(by_alias=True, exclude_unset=True)
    if not any(form in encoded for form, _ in forms):
        return result
    for form, replacement in forms:
        encoded = encoded.replace(form, replacement)
    logger.warning("a tool result held the tenant's token; it was redacted")
    return types.CallToolResult.model_validate_json(encoded)


def _scrubbed_progress(callback: ProgressCallback, child: Child) -> ProgressCallback:
    async def progress(done: float, total: float | None, message: str | None) -> None:
        if message:
            message = child.config.redact(message, child.spec.secrets)
        await callback(done, total, message)

    return progress
