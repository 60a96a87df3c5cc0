"""The stdio MCP server: ``python -m mcpbridge.ghl``."""

from __future__ import annotations

import base64
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from mcpbridge.ghl.catalogue import Catalogue, catalogue_load
from mcpbridge.ghl.client import GhlClient
from mcpbridge.ghl.config import ConfigError, Settings, settings_from_env
from mcpbridge.ghl.context import ToolContext, ToolEntry, guarded
from mcpbridge.ghl.logs import logging_configure
from mcpbridge.ghl.redact import Redactor
from mcpbridge.ghl.results import error_result
from mcpbridge.ghl.tools import toolset_build

logger = logging.getLogger("mcpbridge.ghl")

SERVER_NAME = "ghl"
SERVER_VERSION = "1.0.0"
INSTRUCTIONS = (
    "Tools for one GoHighLevel sub-account. The location is fixed: never pass a locationId. "
    "When no listed tool fits, use search_operations, describe_operation and call_operation."
)
INVALID_PARAMS = -32602
# tools/list answers in pages past this many tools (the full toolset is 521, ~1 MB).
TOOLS_PAGE_SIZE = 100
CURSOR_PREFIX = "tools:"


def cursor_for(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{offset}".encode()).decode()


def cursor_offset(cursor: str | None, total: int) -> int:
    """Where a page starts; an unknown cursor is the client's error (invalid params)."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        offset = int(text.removeprefix(CURSOR_PREFIX)) if text.startswith(CURSOR_PREFIX) else -1
    except (ValueError, UnicodeError):
        offset = -1
    if not 0 < offset < total:
        raise MCPError(code=INVALID_PARAMS, message="Invalid cursor for tools/list")
    return offset


def server_build(
    settings: Settings, catalogue: Catalogue, tools: dict[str, ToolEntry]
) -> Server[ToolContext]:
    listed = [entry.tool for entry in tools.values()]
    redactor = Redactor((settings.access_token,))

    @asynccontextmanager
    async def lifespan(_server: Server[ToolContext]) -> AsyncIterator[ToolContext]:
        client = GhlClient(settings)
        try:
            yield ToolContext(catalogue, client, settings.location_id, settings.max_result_chars)
        finally:
            await client.aclose()

    async def list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        start = cursor_offset(params.cursor if params else None, len(listed))
        end = start + TOOLS_PAGE_SIZE
        more = cursor_for(end) if end < len(listed) else None
        return types.ListToolsResult(tools=listed[start:end], next_cursor=more)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        entry = tools.get(params.name)
        if entry is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {params.name}")
        try:
            result = await guarded(entry.handler, ctx.lifespan_context, params.arguments or {})
        except Exception:
            # A bug of ours must not end the session or leak details: log it, answer plainly.
            logger.exception("tool %s failed", params.name)
            return error_result(
                f"{params.name} failed inside the GHL tool server; the error was logged."
            )
        return redactor.result(result)

    return Server(
        SERVER_NAME,
        version=SERVER_VERSION,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve(server: Server[ToolContext]) -> None:
    async with stdio_server() as (read_stream, write_stream):
        # Stray prints must never reach the JSON-RPC stream.
        sys.stdout = sys.stderr
        await server.run(read_stream, write_stream, server.create_initialization_options())


def main(environ: Mapping[str, str] | None = None) -> int:
    try:
        settings = settings_from_env(os.environ if environ is None else environ)
        logging_configure(level=settings.log_level, secrets=(settings.access_token,))
        catalogue = catalogue_load()
        tools = toolset_build(settings.toolset, catalogue)
    except ConfigError as exc:
        sys.stderr.write(f"mcpbridge.ghl: {exc}\n")
        return 2
    logger.info(
        "serving %d tools (%s) for location %s against %s",
        len(tools),
        settings.toolset,
        settings.location_id,
        settings.base_url,
    )
    anyio.run(serve, server_build(settings, catalogue, tools))
    return 0
