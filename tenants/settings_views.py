"""A tenant's settings page: its connection to HighLevel, its members and its API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.access import TenantAccess, tenant_access_for_user
from tenants.forms import ApprovalPolicyForm
from tenants.models import Tenant, TenantSecret
from tenants.navigation import tenant_nav


@dataclass(frozen=True)
class Connection:
    """What the page may say about the tenant's link to HighLevel: never a token."""

    state: str
    summary: str
    needs_reconnect: bool
    can_reconnect: bool
    secret: TenantSecret | None


def tenant_connection(tenant: Tenant) -> Connection:
    """What the home page and the settings page say of the tenant's link to HighLevel."""
    try:
        secret: TenantSecret | None = tenant.secret
    except TenantSecret.DoesNotExist:
        secret = None
    if tenant.status == Tenant.Status.DISABLED:
        return Connection("off", "Disabled by an administrator.", False, False, secret)
    if tenant.status != Tenant.Status.ACTIVE:
        reason = tenant.status_reason or tenant.get_status_display()
        return Connection("warn", reason, True, True, secret)
    if secret is None or not secret.is_readable:
        return Connection(
            "warn", "Not connected: sign in with HighLevel again.", True, True, secret
        )
    return Connection("ok", "Connected.", False, True, secret)


def _members(tenant: Tenant) -> list[Any]:
    return list(tenant.memberships.select_related("user").order_by("role", "user__username"))


@require_GET
@login_required
def tenant_settings(request: HttpRequest, slug: str) -> HttpResponse:
    access = tenant_access_for_user(request.user, slug)
    return settings_page(request, access)


def settings_page(
    request: HttpRequest,
    access: TenantAccess,
    *,
    policy_form: ApprovalPolicyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    tokens = access.tenant.api_tokens.all()
    if policy_form is None:
        policy_form = ApprovalPolicyForm(initial={"approval_policy": access.tenant.approval_policy})
    context = {
        "policy_form": policy_form,
        "nav": tenant_nav(request.user, access, "settings"),
        "tenant": access.tenant,
        "connection": tenant_connection(access.tenant),
        "members": _members(access.tenant),
        "active_tokens": sum(1 for token in tokens if token.is_active()),
        "token_count": len(tokens),
    }
    return render(request, "tenants/settings.html", context, status=status)
