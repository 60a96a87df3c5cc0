"""Listing and calling a tenant's tools: the one path every way in (socket, HTTP) takes.

Each function is one use of the tenant's child (one ``acquire``). A call is checked
against the tool's advertised input schema first, so a caller learns of an unknown
tool or bad arguments without anything reaching GHL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

import mcp_types as types
from jsonschema import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from mcpbridge.registry import get_registry
from mcpbridge.supervisor.errors import BridgeError, InvalidArguments, UnknownTool

ProgressCallback = Callable[[float, float | None, str | None], Awaitable[None]]

MAX_ARGUMENT_ERRORS = 10


def tool_summary(tool: types.Tool) -> dict[str, Any]:
    """A tool as the ways in show it: MCP's own field names, nothing empty."""
    summary: dict[str, Any] = {"name": tool.name, "inputSchema": tool.input_schema}
    if tool.title:
        summary["title"] = tool.title
    if tool.description:
        summary["description"] = tool.description
    if tool.annotations is not None:
        summary["annotations"] = tool.annotations.model_dump(
            by_alias=True, mode="json", exclude_none=True
        )
    return summary


def call_result_payload(result: types.CallToolResult) -> dict[str, Any]:
    """A tool's result as the ways in send it: ``content``, ``isError`` (and any structure)."""
    payload: dict[str, Any] = {
        "content": [
            block.model_dump(by_alias=True, mode="json", exclude_none=True)
            for block in result.content
        ],
        "isError": bool(result.is_error),
    }
    if result.structured_content is not None:
        payload["structuredContent"] = result.structured_content
    return payload


def call_error_payload(exc: BridgeError) -> dict[str, Any]:
    """A failure as the ways in send it: ``code``, ``message``, and ``retry_after`` (whole
    seconds) or ``errors`` where they apply."""
    payload: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.retry_after is not None:
        payload["retry_after"] = max(1, math.ceil(exc.retry_after))
    if isinstance(exc, InvalidArguments):
        payload["errors"] = exc.errors
    return payload


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Validator | None:
    schema = json.loads(schema_json)
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError:
        # The child advertised a schema no validator understands: let the child judge.
        return None
    return cls(schema)


def arguments_check(schema: dict[str, Any], arguments: dict[str, Any]) -> None:
    """Raise ``InvalidArguments`` listing how ``arguments`` break ``schema``."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    if validator is None:
        return
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.path)))
    if errors:
        raise InvalidArguments(
            [
                f"{'.'.join(map(str, e.path)) or 'arguments'}: {e.message[:200]}"
                for e in errors[:MAX_ARGUMENT_ERRORS]
            ]
        )


def _tool_named(tools: types.ListToolsResult, name: str) -> types.Tool:
    for tool in tools.tools:
        if tool.name == name:
            return tool
    raise UnknownTool(f"This account has no tool named {name[:100]!r}.")


async def tenant_tools_list(*, tenant: Any) -> list[dict[str, Any]]:
    """The tools of ``tenant``'s child, as :func:`tool_summary` shows them."""
    async with get_registry().acquire(tenant) as client:
        listing = await client.list_tools()
    return [tool_summary(tool) for tool in listing.tools]


async def tenant_tool_call(
    *,
    tenant: Any,
    name: str,
    arguments: dict[str, Any],
    progress: ProgressCallback | None = None,
    started: Callable[[], Awaitable[None]] | None = None,
) -> types.CallToolResult:
    """Call ``name`` on ``tenant``'s child; ``UnknownTool`` or ``InvalidArguments`` first.

    ``started`` is awaited once every check has passed, just before the call goes out.
    """
    async with get_registry().acquire(tenant) as client:
        tool = _tool_named(await client.list_tools(), name)
        arguments_check(tool.input_schema, arguments)
        if started is not None:
            await started()
        return await client.call_tool(name, arguments, progress_callback=progress)
