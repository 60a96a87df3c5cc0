"""What the layout shows around a tenant's pages: the tenant, the user's role, their other
tenants (for the switcher) and which section is open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenants.access import TenantAccess
from tenants.models import Membership, Tenant

_CAN_RUN = {Membership.Role.OWNER, Membership.Role.MEMBER}


@dataclass(frozen=True)
class TenantNav:
    tenant: Tenant
    role: str
    can_run: bool
    is_owner: bool
    others: list[Tenant]
    section: str


def tenant_nav(user: Any, access: TenantAccess, section: str) -> TenantNav:
    others = [
        membership.tenant
        for membership in Membership.objects.filter(user=user)
        .exclude(tenant=access.tenant)
        .select_related("tenant")
        .order_by("tenant__name", "tenant__slug")
    ]
    return TenantNav(
        tenant=access.tenant,
        role=access.role.label,
        can_run=access.role in _CAN_RUN,
        is_owner=access.role == Membership.Role.OWNER,
        others=others,
        section=section,
    )
