"""Who may act for a tenant: the one access check, and tenant-bound API tokens.

Every tenant-scoped view and consumer calls :func:`tenant_access_for_user` or
:func:`tenant_access_for_token` first. Outsiders get ``Http404`` (a tenant's
existence is not disclosed), members whose role is too low ``PermissionDenied``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from tenants.models import READ, TOOL_RISKS, ApiToken, Membership, Tenant, scopes_text

TOKEN_PREFIX = "ghlhub_"  # noqa: S105 (a marker, not a secret)
_PREFIX_SHOWN = len(TOKEN_PREFIX) + 6
_MAX_TOKEN_LENGTH = 200
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_ROLE_RANK = {Membership.Role.VIEWER: 0, Membership.Role.MEMBER: 1, Membership.Role.OWNER: 2}
_NOT_FOUND = "No such tenant."


ALL_SCOPES = frozenset(TOOL_RISKS)


@dataclass(frozen=True)
class TenantAccess:
    tenant: Tenant
    role: Membership.Role
    #: The risks of the tools this caller may call: a token's scopes, a person's role.
    scopes: frozenset[str] = ALL_SCOPES


def _granted(
    tenant: Tenant, role: str, min_role: str, scopes: frozenset[str] = ALL_SCOPES
) -> TenantAccess:
    if _ROLE_RANK[Membership.Role(role)] < _ROLE_RANK[Membership.Role(min_role)]:
        raise PermissionDenied(f"This needs the {Membership.Role(min_role).label} role.")
    if role == Membership.Role.VIEWER:
        scopes = frozenset({READ})
    return TenantAccess(tenant=tenant, role=Membership.Role(role), scopes=scopes)


def tenant_access_for_user(
    user: Any, slug: str, *, min_role: str = Membership.Role.VIEWER
) -> TenantAccess:
    """The tenant ``slug`` and ``user``'s role in it: 404 for outsiders, 403 below ``min_role``."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise Http404(_NOT_FOUND)
    membership = (
        Membership.objects.select_related("tenant").filter(user=user, tenant__slug=slug).first()
    )
    if membership is None:
        raise Http404(_NOT_FOUND)
    return _granted(membership.tenant, membership.role, min_role)


def tenant_access_for_token(
    api_token: ApiToken | None, slug: str, *, min_role: str = Membership.Role.VIEWER
) -> TenantAccess:
    """Like :func:`tenant_access_for_user`, for a token from :func:`api_token_authenticate`."""
    if api_token is None or not api_token.is_active() or api_token.tenant.slug != slug:
        raise Http404(_NOT_FOUND)
    return _granted(api_token.tenant, api_token.role, min_role, api_token.scope_set)


async def atenant_access_for_user(
    user: Any, slug: str, *, min_role: str = Membership.Role.VIEWER
) -> TenantAccess:
    """Async twin of :func:`tenant_access_for_user`."""
    return await database_sync_to_async(tenant_access_for_user)(user, slug, min_role=min_role)


async def atenant_access_for_token(
    api_token: ApiToken | None, slug: str, *, min_role: str = Membership.Role.VIEWER
) -> TenantAccess:
    """Async twin of :func:`tenant_access_for_token`."""
    return await database_sync_to_async(tenant_access_for_token)(api_token, slug, min_role=min_role)


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *,
    tenant: Tenant,
    name: str,
    created_by: Any,
    expires_at: datetime | None = None,
    role: str = Membership.Role.MEMBER,
    scopes: frozenset[str] = ALL_SCOPES,
) -> tuple[ApiToken, str]:
    """Create a token for ``tenant``; return it with its plaintext, which is never stored.

    A viewer token is read-only whatever ``scopes`` says; every token may at least read.
    """
    if role == Membership.Role.VIEWER:
        scopes = frozenset({READ})
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        tenant=tenant,
        name=name,
        prefix=plaintext[:_PREFIX_SHOWN],
        token_hash=_token_hash(plaintext),
        role=Membership.Role(role),
        scopes=scopes_text(scopes | {READ}),
        created_by=created_by,
        expires_at=expires_at,
    )
    return token, plaintext


def api_token_authenticate(raw: str | None) -> ApiToken | None:
    """The active token whose plaintext is ``raw``, or None; records when it was used."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > _MAX_TOKEN_LENGTH:
        return None
    token = ApiToken.objects.select_related("tenant").filter(token_hash=_token_hash(raw)).first()
    now = timezone.now()
    if token is None or not token.is_active(now=now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


async def aapi_token_authenticate(raw: str | None) -> ApiToken | None:
    """Async twin of :func:`api_token_authenticate`."""
    return await database_sync_to_async(api_token_authenticate)(raw)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke ``token`` at once; revoking twice keeps the first time."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=token.revoked_at
        )
    return token
