"""HTTP tool endpoints: ``/mcp/<tenant>/tools``, ``/mcp/<tenant>/tool/<name>``, ``/tools``,
``/tools/<name>`` (the tenant from the API token or ``X-Tenant-ID``), and the OpenAPI file.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control

from config.logging import tenant_logging
from mcpbridge.ratelimit import RateUsage, tenant_rate_peek
from mcpbridge.tools import CallContext, call_result_payload, tenant_tool_call, tenant_tools_list
from mcpbridge.ways_in.callers import Caller, caller_access, caller_actor, caller_tenant_slug
from mcpbridge.ways_in.openapi import openapi_document
from mcpbridge.ways_in.tool_endpoint import json_body, tool_endpoint
from tenants.models import AuditEntry, Membership


async def _list(request: HttpRequest, caller: Caller, slug: str) -> HttpResponse:
    access = await caller_access(caller, slug, min_role=Membership.Role.VIEWER)
    # Read by tool_endpoint for the RateLimit-* headers; HttpRequest declares no such field.
    request.rate_usage = await tenant_rate_peek(tenant_id=access.tenant.pk)  # type: ignore[attr-defined]
    with tenant_logging(access.tenant.slug):
        tools = await tenant_tools_list(tenant=access.tenant)
    return JsonResponse({"tenant": access.tenant.slug, "tools": tools})


async def _call(request: HttpRequest, caller: Caller, slug: str, name: str) -> HttpResponse:
    access = await caller_access(caller, slug, min_role=Membership.Role.MEMBER)
    arguments = json_body(request)

    def budget_seen(usage: RateUsage | None) -> None:
        request.rate_usage = usage  # type: ignore[attr-defined]  # as in _list

    with tenant_logging(access.tenant.slug):
        context = CallContext(
            way_in=AuditEntry.WayIn.HTTP,
            actor=caller_actor(caller),
            scopes=access.scopes,
            budget_seen=budget_seen,
        )
        result = await tenant_tool_call(
            tenant=access.tenant, name=name, arguments=arguments, context=context
        )
    return JsonResponse({"tool": name, **call_result_payload(result)})


@tool_endpoint("GET")
async def tenant_tools(request: HttpRequest, caller: Caller, slug: str) -> HttpResponse:
    return await _list(request, caller, slug)


@tool_endpoint("POST")
async def tenant_tool(request: HttpRequest, caller: Caller, slug: str, name: str) -> HttpResponse:
    return await _call(request, caller, slug, name)


@tool_endpoint("GET")
async def tools(request: HttpRequest, caller: Caller) -> HttpResponse:
    slug = await caller_tenant_slug(caller, request.headers.get("X-Tenant-ID"))
    return await _list(request, caller, slug)


@tool_endpoint("POST")
async def tool(request: HttpRequest, caller: Caller, name: str) -> HttpResponse:
    slug = await caller_tenant_slug(caller, request.headers.get("X-Tenant-ID"))
    return await _call(request, caller, slug, name)


@cache_control(max_age=300, public=True)
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document())
