from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from tenants.models import Tenant, TenantSecret
from tenants.signals import credentials_changed_on_commit


@receiver(pre_delete, sender=TenantSecret, dispatch_uid="tenants.secret_deleted")
def secret_deleted(sender: type[TenantSecret], instance: TenantSecret, **kwargs: Any) -> None:
    # pre_delete, not post_delete: when a tenant is deleted its secret goes
    # first, and by post_delete the slug could no longer be read.
    slug = Tenant.objects.filter(pk=instance.tenant_id).values_list("slug", flat=True).first()
    credentials_changed_on_commit(
        tenant_id=instance.tenant_id,
        tenant_slug=slug or "",
        version=instance.version,
        reason="deleted",
    )
