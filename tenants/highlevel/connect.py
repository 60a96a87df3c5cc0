"""What a HighLevel sign-in does to the hub: the tenant, its tokens, the membership."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.socialaccount.models import SocialLogin
from django.db import transaction

from tenants import oauth
from tenants.credentials import upsert_credentials
from tenants.highlevel import lookups
from tenants.models import Membership, Tenant
from tenants.oauth import OAuthTokens

_GRANT_ATTRIBUTE = "_highlevel_grant"
_AGENCY_ATTRIBUTE = "_highlevel_agency_grant"


@dataclass(frozen=True)
class TenantConnection:
    tenant: Tenant
    membership: Membership
    tenant_created: bool


def grant_attach(login: SocialLogin, grant: OAuthTokens) -> None:
    # In memory only, for the rest of this request: never serialised.
    setattr(login, _GRANT_ATTRIBUTE, grant)


def grant_of(login: SocialLogin) -> OAuthTokens | None:
    return getattr(login, _GRANT_ATTRIBUTE, None)


def agency_grant_pending(login: SocialLogin, grant: OAuthTokens) -> None:
    setattr(login, _AGENCY_ATTRIBUTE, grant)


def agency_grant_pending_of(login: SocialLogin) -> OAuthTokens | None:
    return getattr(login, _AGENCY_ATTRIBUTE, None)


def tenant_connect(*, user: Any, grant: OAuthTokens, name: str = "") -> TenantConnection:
    """Store a sub-account grant for ``user``: tenant, encrypted tokens and membership, at once.

    The first user of a tenant becomes its owner, later users members; an
    existing membership is kept as it is. Sends ``credentials_changed`` with
    reason ``login`` on commit. Raises :class:`tenants.credentials.CredentialsError`.
    """
    with transaction.atomic():
        tenant, created = upsert_credentials(grant.token_payload(name=name), reason="login")
        membership = _membership_for_login(tenant=tenant, user=user)
    return TenantConnection(tenant=tenant, membership=membership, tenant_created=created)


def _membership_for_login(*, tenant: Tenant, user: Any) -> Membership:
    # The tenant row lock makes "first user becomes owner" hold under concurrent sign-ins.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    existing = Membership.objects.filter(tenant=tenant, user=user).first()
    if existing is not None:
        return existing
    role = (
        Membership.Role.MEMBER
        if Membership.objects.filter(tenant=tenant).exists()
        else Membership.Role.OWNER
    )
    return Membership.objects.create(tenant=tenant, user=user, role=role)


def tenant_connect_location_grant(*, user: Any, grant: OAuthTokens) -> TenantConnection:
    """Connect the sub-account a location-level sign-in was for."""
    name = lookups.location_name(
        access_token=grant.access_token, location_id=grant.location_id, scope=grant.scope
    )
    return tenant_connect(user=user, grant=grant, name=name)


def tenant_connect_agency_location(
    *, user: Any, agency: OAuthTokens, location_id: str
) -> TenantConnection:
    """Connect one sub-account of an agency, with a token from ``POST /oauth/locationToken``."""
    grant = oauth.location_token(agency=agency, location_id=location_id)
    return tenant_connect_location_grant(user=user, grant=grant)
