"""Who is calling a tenant's tools: a signed-in user (session) or a tenant's API token.

HTTP views and the websocket consumer resolve a ``Caller`` once, then ask
:func:`caller_access` for a tenant. A socket lives long, so before each of its
events it asks :func:`caller_refresh` whether the caller still is who it was: a
token revoked, a session signed out or a user deactivated since ends its rights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async
from django.conf import settings
from django.http import Http404

from config.errors import HubError
from tenants.access import (
    TenantAccess,
    aapi_token_authenticate,
    atenant_access_for_token,
    atenant_access_for_user,
)
from tenants.audit import Actor
from tenants.models import ApiToken, Membership


class NotAuthenticatedError(HubError):
    code = "unauthenticated"
    default_message = "Sign in, or send Authorization: Bearer <API token>."
    permanent = True


class TenantRequiredError(HubError):
    code = "tenant_required"
    default_message = "You belong to several accounts: name one in the X-Tenant-ID header."
    permanent = True


@dataclass(frozen=True)
class Caller:
    user: Any = None
    api_token: ApiToken | None = None
    raw_token: str | None = field(default=None, repr=False)
    session_key: str | None = None

    @property
    def uses_token(self) -> bool:
        return self.raw_token is not None


def caller_actor(caller: Caller) -> Actor:
    """The caller as the audit log names it."""
    return Actor.of(user=caller.user, api_token=caller.api_token)


def bearer_token(header: str | None) -> str | None:
    """The credentials of an ``Authorization: Bearer ...`` header ("" when it is another scheme)."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def caller_from_token(raw: str) -> Caller:
    token = await aapi_token_authenticate(raw)
    if token is None:
        raise NotAuthenticatedError("The API token is not valid (unknown, expired or revoked).")
    return Caller(api_token=token, raw_token=raw)


def caller_from_user(user: Any, *, session_key: str | None = None) -> Caller:
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAuthenticatedError()
    return Caller(user=user, session_key=session_key)


async def caller_access(caller: Caller, slug: str, *, min_role: str) -> TenantAccess:
    """The caller's access to tenant ``slug``: ``Http404`` for outsiders, 403 below ``min_role``."""
    if caller.api_token is not None:
        return await atenant_access_for_token(caller.api_token, slug, min_role=min_role)
    return await atenant_access_for_user(caller.user, slug, min_role=min_role)


async def _session_user(session_key: str) -> Any:
    engine = import_module(settings.SESSION_ENGINE)
    # A fresh store, not the socket's cached one: a sign-out since must show.
    # get_user reads only the session from the scope it is given.
    return await get_user({"session": engine.SessionStore(session_key)})  # type: ignore[typeddict-item]


async def caller_refresh(caller: Caller) -> Caller:
    """The caller as it stands now; ``NotAuthenticatedError`` when its credentials are gone."""
    if caller.raw_token is not None:
        return await caller_from_token(caller.raw_token)
    if caller.session_key is None:
        return caller_from_user(caller.user)
    user = await _session_user(caller.session_key)
    if getattr(user, "pk", None) != caller.user.pk:
        raise NotAuthenticatedError("The session has ended; sign in again.")
    return caller_from_user(user, session_key=caller.session_key)


@database_sync_to_async
def _member_tenant_slugs(user: Any) -> list[str]:
    rows = Membership.objects.filter(user=user).values_list("tenant__slug", flat=True)
    return list(rows.order_by("tenant__slug")[:2])


async def caller_tenant_slug(caller: Caller, requested: str | None) -> str:
    """The tenant meant by a request that names none in its path.

    A token's tenant is its own (naming another is refused as an outsider would be);
    a user names one in ``X-Tenant-ID`` unless they belong to exactly one.
    """
    if caller.api_token is not None:
        own = caller.api_token.tenant.slug
        if requested and requested != own:
            raise Http404("No such tenant.")
        return own
    if requested:
        return requested
    slugs = await _member_tenant_slugs(caller.user)
    if not slugs:
        raise Http404("No such tenant.")
    if len(slugs) > 1:
        raise TenantRequiredError()
    return slugs[0]
