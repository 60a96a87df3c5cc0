"""``credentials_changed``: how the rest of the hub learns that a tenant's credentials moved.

Sent after the transaction commits, with keyword arguments ``tenant_id`` (int),
``tenant_slug`` (str), ``version`` (int), ``reason`` (one of ``REASONS``) and
``revoke`` (bool: True when running children must close at once). Receivers
never hear of a change that was rolled back.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

credentials_changed = Signal()

REASONS = frozenset({"refresh", "login", "update", "uninstall", "disable", "enable", "deleted"})
REVOKING_REASONS = frozenset({"uninstall", "disable", "deleted"})


def credentials_changed_on_commit(
    *, tenant_id: int, tenant_slug: str, version: int, reason: str
) -> None:
    """Send ``credentials_changed`` once the current transaction commits (at once outside one)."""
    if reason not in REASONS:
        raise ValueError(f"unknown credentials_changed reason {reason!r}")
    kwargs = {
        "tenant_id": tenant_id,
        "tenant_slug": tenant_slug,
        "version": version,
        "reason": reason,
        "revoke": reason in REVOKING_REASONS,
    }
    transaction.on_commit(lambda: _send(kwargs))


def _send(kwargs: dict[str, object]) -> None:
    from tenants.models import Tenant

    # A failing receiver must not turn a committed change into an error for the caller.
    for receiver, result in credentials_changed.send_robust(sender=Tenant, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "credentials_changed receiver %r failed for tenant %s",
                receiver,
                kwargs["tenant_slug"],
                exc_info=result,
            )
