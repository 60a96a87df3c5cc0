"""The staff page listing this worker's MCP children, with a stop action."""

from __future__ import annotations

from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from mcpbridge.registry import get_registry
from mcpbridge.supervisor.processes import process_rss_bytes


@dataclass(frozen=True)
class ChildRow:
    key: str
    tenant: str
    tenant_url: str
    state: str
    pid: int | None
    version: int | None
    age: str
    idle: str
    refcount: int
    rss: str
    failures: int
    retry_in: str
    last_output: str


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _memory(pid: int | None) -> str:
    # Read for this page only: /health lists the same children and must stay cheap.
    rss = process_rss_bytes(pid) if pid else None
    return f"{rss / 1_048_576:.1f} MiB" if rss else "—"


def _tenant_url(key: str) -> str:
    try:
        return reverse("admin:tenants_tenant_change", args=[key])
    except NoReverseMatch:
        return ""


def _rows() -> list[ChildRow]:
    return [
        ChildRow(
            key=info.key,
            tenant=info.label,
            tenant_url=_tenant_url(info.key),
            state=str(info.state),
            pid=info.pid,
            version=info.version,
            age=_duration(info.age),
            idle=_duration(info.idle),
            refcount=info.refcount,
            rss=_memory(info.pid),
            failures=info.failures,
            retry_in=_duration(info.retry_in),
            last_output=info.last_output,
        )
        for info in get_registry().children()
    ]


def _page(request: HttpRequest, rows: list[ChildRow], worker: str) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "MCP children of this worker",
        "rows": rows,
        "worker": worker,
    }
    return render(request, "admin/mcpbridge/children.html", context)


@staff_member_required
@require_http_methods(["GET", "POST"])
async def children_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return await _stop(request)
    worker = get_registry().supervisor.worker
    return await sync_to_async(_page)(request, _rows(), worker)


async def _stop(request: HttpRequest) -> HttpResponse:
    key = request.POST.get("key", "")
    stopped = await get_registry().supervisor.stop(key) if key else 0
    if stopped:
        note = f"Stopped {stopped} process(es); the next use starts a fresh one."
    else:
        note = "No process was running; its failure count was reset."
    await sync_to_async(messages.success)(request, note)
    return HttpResponseRedirect(reverse("mcp_children"))
