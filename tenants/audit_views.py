"""A tenant's audit log page and its CSV download, and the approval policy form.

Owners see every entry of their tenant, other members their own; outsiders get 404.
"""

from __future__ import annotations

import csv
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenants.access import tenant_access_for_user
from tenants.audit import AuditFilters, audit_entries_for, tenant_approval_policy_set
from tenants.forms import ApprovalPolicyForm
from tenants.models import TOOL_RISKS, AuditEntry, Membership
from tenants.navigation import tenant_nav
from tenants.settings_views import settings_page

PAGE_SIZE = 50
CSV_COLUMNS = (
    "time",
    "actor",
    "way_in",
    "conversation",
    "tool",
    "risk",
    "arguments",
    "approval_needed",
    "approval_decision",
    "approved_by",
    "approved_at",
    "outcome",
    "duration_ms",
)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=200)
    tool = forms.CharField(required=False, max_length=200)
    risk = forms.ChoiceField(
        required=False, choices=[("", "Any risk"), *[(risk, risk) for risk in TOOL_RISKS]]
    )
    outcome = forms.CharField(required=False, max_length=64)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> AuditFilters:
        if not self.is_valid():
            return AuditFilters()
        data = {key: value for key, value in self.cleaned_data.items() if value}
        return AuditFilters(**data)


def _entries(request: HttpRequest, slug: str) -> tuple[Any, AuditFilterForm, QuerySet[Any]]:
    access = tenant_access_for_user(request.user, slug)
    form = AuditFilterForm(request.GET or None)
    entries = audit_entries_for(access=access, user=request.user, filters=form.filters())
    return access, form, entries


@login_required
@require_GET
def audit_page(request: HttpRequest, slug: str) -> HttpResponse:
    access, form, entries = _entries(request, slug)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "nav": tenant_nav(request.user, access, "settings"),
        "tenant": access.tenant,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "sees_all": access.role == Membership.Role.OWNER,
    }
    return render(request, "tenants/audit.html", context)


def csv_row(entry: AuditEntry) -> list[str]:
    """One entry as the CSV has it: the page's columns, times in ISO 8601 (UTC)."""
    return [
        entry.at.isoformat(),
        entry.actor,
        entry.way_in,
        "" if entry.conversation_id is None else str(entry.conversation_id),
        entry.tool,
        entry.risk,
        entry.arguments,
        "yes" if entry.approval_needed else "no",
        entry.approval_decision,
        entry.approved_by,
        entry.approved_at.isoformat() if entry.approved_at else "",
        entry.outcome,
        "" if entry.duration_ms is None else str(entry.duration_ms),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe_cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula is quoted as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
@require_GET
def audit_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    access, _, entries = _entries(request, slug)
    writer = csv.writer(_Echo())
    rows = (
        writer.writerow([_safe_cell(cell) for cell in csv_row(entry)])
        for entry in entries.iterator()
    )
    response = StreamingHttpResponse(
        (line for chunk in ([writer.writerow(CSV_COLUMNS)], rows) for line in chunk),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"audit-{access.tenant.slug}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def approval_policy_view(request: HttpRequest, slug: str) -> HttpResponse:
    access = tenant_access_for_user(request.user, slug, min_role=Membership.Role.OWNER)
    form = ApprovalPolicyForm(request.POST)
    if not form.is_valid():
        return settings_page(request, access, policy_form=form, status=400)
    if tenant_approval_policy_set(
        tenant=access.tenant, policy=form.cleaned_data["approval_policy"], user=request.user
    ):
        messages.success(request, "The approval policy was saved.")
    return redirect("tenants:settings", slug=access.tenant.slug)
