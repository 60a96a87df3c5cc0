"""The OpenAPI 3.1 description of the tool endpoints, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from django.conf import settings

RATE_HEADERS = ("Limit", "Remaining", "Reset")

_RATE_HEADER_TEXT = {
    "Limit": "Tool calls the tenant may make in the current window.",
    "Remaining": "Tool calls left in the current window.",
    "Reset": "Seconds until the window ends and the budget is whole again.",
}

# (status, description) of each error a tool endpoint may answer with.
_LIST_ERRORS = {
    "400": (
        "`tenant_required`: the user belongs to several tenants and sent no `X-Tenant-ID`; "
        "`bad_request`: a malformed `Content-Length`."
    ),
    "401": "`unauthenticated`: no session and no valid API token.",
    "404": "`not_found`: no such tenant, or the caller is not one of its members.",
    "405": "`method_not_allowed`.",
    "409": "`tenant_unavailable`: the tenant is disabled or must sign in to HighLevel again.",
    "502": "The tenant's tool process failed (`child_crashed`, `child_start_failed`, ...).",
    "503": "`ghl_unavailable`, `at_capacity`, `child_restarting` or `shutting_down` "
    "(with `Retry-After` when known).",
    "504": "`call_timeout`: the tool process did not answer in time.",
}
_CALL_ERRORS = {
    **_LIST_ERRORS,
    "400": (
        "`invalid_json` (the body is not a JSON object), `tenant_required`, or `bad_request` "
        "(a malformed `Content-Length`, or a session caller's form body that cannot be parsed "
        "as its Content-Type says)."
    ),
    "403": "`forbidden` (a viewer may not call tools) or `csrf_failed` (session callers).",
    "404": "`not_found` (tenant) or `unknown_tool`.",
    "413": "`too_large`: the body is over the size limit.",
    "422": "`invalid_arguments`: the arguments break the tool's input schema (see `errors`).",
    "429": "`rate_limited`: the tenant's tool-call budget is spent until `Retry-After`.",
}


def _rate_headers() -> dict[str, Any]:
    headers = {
        f"{prefix}RateLimit-{name}": {"$ref": f"#/components/headers/RateLimit-{name}"}
        for prefix in ("", "X-")
        for name in RATE_HEADERS
    }
    return headers


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _responses(ok: str, ok_schema: str, errors: dict[str, str]) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": ok, "headers": _rate_headers(), "content": _json(ok_schema)}
    }
    for status, text in sorted(errors.items()):
        response: dict[str, Any] = {"description": text, "content": _json("Error")}
        if status in {"409", "422", "429", "502", "503", "504"}:
            response["headers"] = _rate_headers()
        if status in {"429", "503"}:
            response["headers"]["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        responses[status] = response
    return responses


def _list_operation(operation_id: str, summary: str, parameters: list[Any]) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["tools"],
        "parameters": parameters,
        "responses": _responses("The tenant's tools.", "ToolList", _LIST_ERRORS),
    }


def _call_operation(operation_id: str, summary: str, parameters: list[Any]) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": (
            "The body is the tool's arguments, a JSON object, whatever the Content-Type "
            "(`curl -d` works); an empty body means `{}`. A tool that ran and reported a "
            "failure answers 200 with `isError: true`; a failure to run it is a 4xx or 5xx. "
            "Session callers send the CSRF token in `X-CSRFToken`."
        ),
        "tags": ["tools"],
        "parameters": parameters,
        "requestBody": {"required": False, "content": _json("Arguments")},
        "responses": _responses("The tool ran; its result.", "ToolResult", _CALL_ERRORS),
    }


def _paths() -> dict[str, Any]:
    tenant = {"$ref": "#/components/parameters/tenant"}
    name = {"$ref": "#/components/parameters/name"}
    chosen = {"$ref": "#/components/parameters/X-Tenant-ID"}
    return {
        "/mcp/{tenant}/tools": {
            "get": _list_operation("listTenantTools", "List a tenant's tools", [tenant])
        },
        "/mcp/{tenant}/tool/{name}": {
            "post": _call_operation(
                "callTenantTool", "Call one of a tenant's tools", [tenant, name]
            )
        },
        "/tools": {
            "get": _list_operation("listTools", "List the tools of the caller's tenant", [chosen])
        },
        "/tools/{name}": {
            "post": _call_operation(
                "callTool", "Call a tool of the caller's tenant", [chosen, name]
            )
        },
    }


def _schemas() -> dict[str, Any]:
    return {
        "Error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, for programs."},
                "message": {"type": "string", "description": "For people."},
                "retry_after": {"type": "integer", "description": "Seconds to wait."},
                "errors": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Tool": {
            "type": "object",
            "required": ["name", "inputSchema"],
            "properties": {
                "name": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "inputSchema": {"type": "object", "description": "JSON Schema of the arguments."},
                "annotations": {"type": "object"},
            },
        },
        "ToolList": {
            "type": "object",
            "required": ["tenant", "tools"],
            "properties": {
                "tenant": {"type": "string"},
                "tools": {"type": "array", "items": {"$ref": "#/components/schemas/Tool"}},
            },
        },
        "Arguments": {"type": "object", "additionalProperties": True},
        "ToolResult": {
            "type": "object",
            "required": ["tool", "content", "isError"],
            "properties": {
                "tool": {"type": "string"},
                "content": {
                    "type": "array",
                    "description": "MCP content blocks, e.g. {type: text, text: ...}.",
                    "items": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"type": "string"}},
                    },
                },
                "isError": {"type": "boolean", "description": "The tool reported a failure."},
                "structuredContent": {"type": "object"},
            },
        },
    }


def _components() -> dict[str, Any]:
    headers: dict[str, Any] = {
        f"RateLimit-{name}": {"description": text, "schema": {"type": "integer"}}
        for name, text in _RATE_HEADER_TEXT.items()
    }
    headers["Retry-After"] = {"description": "Seconds to wait.", "schema": {"type": "integer"}}
    return {
        "securitySchemes": {
            "apiToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "A tenant's API token (`ghlhub_...`), from its settings page.",
            },
            "session": {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME},
        },
        "parameters": {
            "tenant": {
                "name": "tenant",
                "in": "path",
                "required": True,
                "description": "The tenant's slug.",
                "schema": {"type": "string"},
            },
            "name": {
                "name": "name",
                "in": "path",
                "required": True,
                "description": "The tool's name, as listed.",
                "schema": {"type": "string"},
            },
            "X-Tenant-ID": {
                "name": "X-Tenant-ID",
                "in": "header",
                "required": False,
                "description": (
                    "The tenant's slug. Needed by a signed-in user of several tenants; "
                    "an API token reaches only its own tenant."
                ),
                "schema": {"type": "string"},
            },
        },
        "headers": headers,
        "schemas": _schemas(),
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GHL Agent Hub tools",
            "version": "1.0.0",
            "description": (
                "Call a tenant's tools (its GoHighLevel MCP server) over HTTP. The websocket "
                "`/ws/tenants/{tenant}/` streams the same calls (docs/websocket.md). Rate-limit "
                "headers come with every answer to a caller the tenant's budget applies to."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"apiToken": []}, {"session": []}],
        "tags": [{"name": "tools", "description": "A tenant's tools."}],
        "paths": _paths(),
        "components": _components(),
    }
