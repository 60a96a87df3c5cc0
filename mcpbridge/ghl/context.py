"""What every tool handler needs: the catalogue, the client and the child's location."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import mcp.types as types

from mcpbridge.ghl.calls import ArgumentError
from mcpbridge.ghl.catalogue import Catalogue
from mcpbridge.ghl.client import GhlClient, GhlError, PreparedRequest
from mcpbridge.ghl.results import data_result, error_result


@dataclass(frozen=True, slots=True)
class ToolContext:
    catalogue: Catalogue
    client: GhlClient
    location_id: str
    max_result_chars: int

    async def respond(
        self, request: PreparedRequest, *, structured: bool = False
    ) -> types.CallToolResult:
        try:
            response = await self.client.send(request)
        except GhlError as exc:
            return error_result(str(exc))
        return data_result(
            response.data,
            status=response.status,
            limit=self.max_result_chars,
            structured=structured,
        )


ToolHandler = Callable[[ToolContext, dict[str, Any]], Awaitable[types.CallToolResult]]


@dataclass(frozen=True, slots=True)
class ToolEntry:
    tool: types.Tool
    handler: ToolHandler


async def guarded(
    handler: ToolHandler, ctx: ToolContext, arguments: dict[str, Any]
) -> types.CallToolResult:
    try:
        return await handler(ctx, arguments)
    except ArgumentError as exc:
        return error_result(str(exc))
