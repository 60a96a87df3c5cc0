"""Tenant lifecycle: disable, enable, uninstall, membership.

Each change of status bumps the secret's version and sends
``credentials_changed`` on commit, so the bridge closes (or may restart) the
tenant's child without the tenants app knowing it exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F

from tenants.models import Membership, Tenant, TenantSecret
from tenants.signals import credentials_changed_on_commit

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [
    "membership_grant",
    "tenant_disable",
    "tenant_enable",
    "tenant_mark_uninstalled",
    "tenant_uninstall",
]


def _tenant_status_set(*, tenant: Tenant, status: str, reason: str, signal_reason: str) -> Tenant:
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        locked.status = status
        locked.status_reason = reason
        locked.save(update_fields=["status", "status_reason", "updated_at"])
        TenantSecret.objects.filter(tenant=locked).update(version=F("version") + 1)
        version = (
            TenantSecret.objects.filter(tenant=locked).values_list("version", flat=True).first()
        )
        credentials_changed_on_commit(
            tenant_id=locked.pk, tenant_slug=locked.slug, version=version or 0, reason=signal_reason
        )
    return locked


def tenant_disable(*, tenant: Tenant, reason: str = "Disabled by staff.") -> Tenant:
    """Stop all use of the tenant's credentials; running children are told to close."""
    return _tenant_status_set(
        tenant=tenant, status=Tenant.Status.DISABLED, reason=reason, signal_reason="disable"
    )


def tenant_enable(*, tenant: Tenant) -> Tenant:
    """Make a disabled tenant usable again."""
    return _tenant_status_set(
        tenant=tenant, status=Tenant.Status.ACTIVE, reason="", signal_reason="enable"
    )


def tenant_mark_uninstalled(
    *, tenant: Tenant, reason: str = "The app was uninstalled from the location."
) -> Tenant:
    """Record that GHL uninstalled the app: the tokens are dead, children must close."""
    return _tenant_status_set(
        tenant=tenant, status=Tenant.Status.UNINSTALLED, reason=reason, signal_reason="uninstall"
    )


def membership_grant(*, tenant: Tenant, user: User, role: str) -> Membership:
    """Give ``user`` ``role`` in ``tenant``, creating or updating the membership."""
    membership, _created = Membership.objects.update_or_create(
        tenant=tenant, user=user, defaults={"role": Membership.Role(role)}
    )
    return membership


def tenant_uninstall(
    *, tenant: Tenant, reason: str = "The app was uninstalled from the location."
) -> Tenant:
    """GHL uninstalled the app: mark the tenant uninstalled and delete its tokens, at once.

    Both send ``credentials_changed`` with ``revoke=True`` on commit, so running
    children stop; signing in with HighLevel again makes the tenant active.
    """
    with transaction.atomic():
        tenant = tenant_mark_uninstalled(tenant=tenant, reason=reason)
        TenantSecret.objects.filter(tenant=tenant).delete()
    return tenant
