"""A tenant's API tokens page: owners create (the plaintext is shown once) and revoke.

Other members see the tokens without the controls; outsiders get 404 as everywhere.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from tenants.access import (
    TenantAccess,
    api_token_create,
    api_token_revoke,
    tenant_access_for_user,
)
from tenants.forms import ApiTokenForm
from tenants.models import ApiToken, Membership
from tenants.navigation import tenant_nav


def _create(request: HttpRequest, access: TenantAccess) -> tuple[ApiTokenForm, str | None]:
    if access.role != Membership.Role.OWNER:
        raise PermissionDenied("Only the tenant's owners manage its API tokens.")
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return form, None
    _, plaintext = api_token_create(
        tenant=access.tenant,
        name=form.cleaned_data["name"],
        created_by=request.user,
        expires_at=form.expires_at(),
        role=form.cleaned_data["role"],
        scopes=frozenset(form.cleaned_data["scopes"]),
    )
    return ApiTokenForm(), plaintext


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest, slug: str) -> HttpResponse:
    access = tenant_access_for_user(request.user, slug)
    form, plaintext = ApiTokenForm(), None
    if request.method == "POST":
        form, plaintext = _create(request, access)
    context = {
        "nav": tenant_nav(request.user, access, "settings"),
        "tenant": access.tenant,
        "can_manage": access.role == Membership.Role.OWNER,
        "form": form,
        "plaintext": plaintext,
        "tokens": access.tenant.api_tokens.select_related("created_by"),
    }
    response = render(request, "tenants/api_tokens.html", context)
    # The page may hold a token's plaintext: never keep a copy anywhere.
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = tenant_access_for_user(request.user, slug, min_role=Membership.Role.OWNER)
    token = get_object_or_404(ApiToken, pk=pk, tenant=access.tenant)
    api_token_revoke(token=token)
    messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("tenants:api_tokens", slug=access.tenant.slug)
