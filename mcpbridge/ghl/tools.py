"""What ``tools/list`` shows, chosen by GHL_TOOLSET, and the handler behind each tool."""

from __future__ import annotations

import json
from typing import Any

import mcp.types as types

from mcpbridge.ghl.calls import arguments_validate, operation_request, request_build
from mcpbridge.ghl.catalogue import Catalogue, Operation
from mcpbridge.ghl.config import ConfigError
from mcpbridge.ghl.context import ToolContext, ToolEntry, ToolHandler
from mcpbridge.ghl.core import CoreTool, core_tools
from mcpbridge.ghl.core.outputs import output_schema
from mcpbridge.ghl.results import error_result, text_result
from mcpbridge.ghl.risk import (
    RISK_FROM_META_KEY,
    operation_annotations,
    operation_risk,
    risk_meta,
)

SEARCH_LIMIT = 50
# Which part of the toolset a tool is: "core", "discovery" or "operation". A client that
# offers a model only some tools (the agent) keeps the core and discovery ones.
TIER_META_KEY = "ghl-agent-hub/tier"
# On an operation's own tool: its catalogue id, so a client can search for it.
OPERATION_META_KEY = "ghl-agent-hub/operation"


def core_entry(core: CoreTool, op: Operation) -> ToolEntry:
    async def handler(ctx: ToolContext, arguments: dict[str, Any]) -> types.CallToolResult:
        arguments_validate(core.input_schema(), arguments)
        routed = core.operation_arguments(op, arguments)
        request = request_build(
            op, routed, location_id=ctx.location_id, extra_slots=core.extra_slots
        )
        return await ctx.respond(request, structured=True)

    tool = types.Tool(
        name=core.name,
        description=core.description,
        input_schema=core.input_schema(),
        output_schema=output_schema(core.name),
        annotations=operation_annotations(op, core.name.replace("_", " ").capitalize()),
        meta={**risk_meta(operation_risk(op)), TIER_META_KEY: "core"},
    )
    return ToolEntry(tool, handler)


def operation_entry(op: Operation) -> ToolEntry:
    async def handler(ctx: ToolContext, arguments: dict[str, Any]) -> types.CallToolResult:
        return await ctx.respond(operation_request(op, arguments, location_id=ctx.location_id))

    tool = types.Tool(
        name=op.tool_name,
        description=op.summary(),
        input_schema=op.input_schema,
        annotations=operation_annotations(op, op.title),
        meta={
            **risk_meta(operation_risk(op)),
            TIER_META_KEY: "operation",
            OPERATION_META_KEY: op.id,
        },
    )
    return ToolEntry(tool, handler)


def operation_brief(op: Operation) -> dict[str, Any]:
    return {
        "id": op.id,
        "method": op.method,
        "path": op.path,
        "title": op.description or op.title,
        "risk": operation_risk(op),
    }


async def search_operations(ctx: ToolContext, arguments: dict[str, Any]) -> types.CallToolResult:
    group = arguments.get("group")
    if group and group not in ctx.catalogue.callable_groups:
        groups = ", ".join(ctx.catalogue.callable_groups)
        return error_result(f"unknown group {group!r}; groups: {groups}")
    found = ctx.catalogue.search(
        arguments.get("query", ""), group=group, limit=arguments.get("limit", 20)
    )
    payload = {"operations": [operation_brief(op) for op in found], "count": len(found)}
    if not found:
        payload["hint"] = "no match; try fewer or other words, or a group alone"
    return text_result(json.dumps(payload, separators=(",", ":")))


async def describe_operation(ctx: ToolContext, arguments: dict[str, Any]) -> types.CallToolResult:
    op = ctx.catalogue.get(arguments["operationId"])
    if op is None:
        return unknown_operation(arguments["operationId"])
    payload = {
        **operation_brief(op),
        "group": op.group,
        "scopes": list(op.scopes),
        "deprecated": op.deprecated,
        "input_schema": op.input_schema,
        "note": "locationId is filled in for you and cannot be changed.",
    }
    return text_result(json.dumps(payload, separators=(",", ":")))


async def call_operation(ctx: ToolContext, arguments: dict[str, Any]) -> types.CallToolResult:
    op = ctx.catalogue.get(arguments["operationId"])
    if op is None:
        return unknown_operation(arguments["operationId"])
    request = operation_request(op, arguments.get("arguments") or {}, location_id=ctx.location_id)
    return await ctx.respond(request)


def unknown_operation(operation_id: str) -> types.CallToolResult:
    return error_result(f"unknown operation {operation_id!r}; find ids with search_operations")


def discovery_entries(catalogue: Catalogue) -> list[ToolEntry]:
    operation_id = {
        "type": "string",
        "minLength": 1,
        "description": "An id from search_operations, e.g. contacts.get_contact.",
    }
    specs: list[tuple[str, str, dict[str, Any], ToolHandler, bool]] = [
        (
            "search_operations",
            f"Search all {len(catalogue)} GHL API operations this sub-account can use, by words "
            "and/or API group. Use it when no other tool fits; "
            "then describe_operation and call_operation.",
            {
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "description": "Words, e.g. 'invoice schedule' or 'social post'.",
                    },
                    "group": {
                        "type": "string",
                        "enum": catalogue.callable_groups,
                        "description": "Only this API group.",
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": SEARCH_LIMIT,
                        "default": 20,
                    },
                },
                "additionalProperties": False,
            },
            search_operations,
            True,
        ),
        (
            "describe_operation",
            "Show one GHL operation's method, path, scopes and the JSON schema of its arguments.",
            {
                "type": "object",
                "properties": {"operationId": operation_id},
                "required": ["operationId"],
                "additionalProperties": False,
            },
            describe_operation,
            True,
        ),
        (
            "call_operation",
            "Call any GHL operation by id. arguments: path and query parameters by name, the "
            "request body under 'body', exactly as describe_operation shows. "
            "locationId is filled in.",
            {
                "type": "object",
                "properties": {
                    "operationId": operation_id,
                    "arguments": {
                        "type": "object",
                        "description": "Arguments matching the operation's schema.",
                        "default": {},
                    },
                },
                "required": ["operationId"],
                "additionalProperties": False,
            },
            call_operation,
            False,
        ),
    ]
    entries = []
    for name, description, schema, handler, read_only in specs:
        entries.append(
            ToolEntry(
                types.Tool(
                    name=name,
                    description=description,
                    input_schema=schema,
                    annotations=discovery_annotations(read_only),
                    meta={**discovery_meta(read_only), TIER_META_KEY: "discovery"},
                ),
                validated(schema, handler),
            )
        )
    return entries


def discovery_annotations(read_only: bool) -> types.ToolAnnotations:
    # call_operation can call anything, so its hints are the worst case; the risk of one
    # call is that of its operation, which describe_operation and search_operations give.
    return types.ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=not read_only,
        idempotent_hint=read_only,
        open_world_hint=not read_only,
    )


def discovery_meta(read_only: bool) -> dict[str, Any]:
    if read_only:
        return risk_meta("read")
    return risk_meta("outbound", **{RISK_FROM_META_KEY: "operationId"})


def validated(schema: dict[str, Any], handler: ToolHandler) -> ToolHandler:
    async def run(ctx: ToolContext, arguments: dict[str, Any]) -> types.CallToolResult:
        arguments_validate(schema, arguments)
        return await handler(ctx, arguments)

    return run


def core_entries(catalogue: Catalogue) -> list[ToolEntry]:
    entries = []
    for core in core_tools():
        op = catalogue.get(core.operation)
        if op is None:
            raise ConfigError(f"core tool {core.name} names unknown operation {core.operation}")
        entries.append(core_entry(core, op))
    return [*entries, *discovery_entries(catalogue)]


def normalise_group(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def toolset_build(spec: str, catalogue: Catalogue) -> dict[str, ToolEntry]:
    """Tools by name for GHL_TOOLSET: ``core``, ``full`` (core, discovery and every
    operation), or a comma list of groups and/or ``core``."""
    choice = spec.strip().lower() or "core"
    if choice == "full":
        entries = [*core_entries(catalogue), *(operation_entry(op) for op in catalogue)]
    else:
        entries = []
        for item in filter(None, (normalise_group(part) for part in choice.split(","))):
            entries.extend(toolset_part(item, catalogue))
    tools: dict[str, ToolEntry] = {}
    for entry in entries:
        tools.setdefault(entry.tool.name, entry)
    if not tools:
        raise ConfigError("GHL_TOOLSET selects no tools")
    return tools


def toolset_part(item: str, catalogue: Catalogue) -> list[ToolEntry]:
    if item == "core":
        return core_entries(catalogue)
    if item not in catalogue.groups:
        raise ConfigError(
            f"GHL_TOOLSET names unknown group {item!r}; use core, full or a comma list of: "
            + ", ".join(catalogue.callable_groups)
        )
    if item not in catalogue.callable_groups:
        raise ConfigError(f"GHL_TOOLSET group {item!r} has no operations a sub-account may call")
    return [operation_entry(op) for op in catalogue.in_group(item)]
