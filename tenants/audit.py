"""The tenant's audit log: what was done, by whom, through which way in, and how it ended.

Entries are only ever added (and purged past ``AUDIT_RETENTION_DAYS``). Arguments are
kept as JSON with anything that looks like a secret removed and cut to a few KB, so the
log itself never becomes a place where a credential can be read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tenants.access import TenantAccess
from tenants.models import ApiToken, AuditEntry, Membership, Tenant

ARGUMENTS_LIMIT = 4096
_SECRET_KEY = re.compile(r"token|secret|password|passwd|api[_-]?key|authori[sz]ation", re.I)
_REDACTED = "[redacted]"


def _scrubbed(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return "…"
    if isinstance(value, dict):
        return {
            str(key): _REDACTED if _SECRET_KEY.search(str(key)) else _scrubbed(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrubbed(item, depth + 1) for item in value]
    return value


def audit_arguments_text(arguments: Any, *, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """``arguments`` as the log keeps them: JSON, secret-looking keys and known secrets
    removed, at most ``ARGUMENTS_LIMIT`` characters."""
    try:
        text = json.dumps(_scrubbed(arguments), ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(str(arguments)[:ARGUMENTS_LIMIT])
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, _REDACTED)
    text = text.replace("\x00", "")
    return text if len(text) <= ARGUMENTS_LIMIT else text[: ARGUMENTS_LIMIT - 1] + "…"


@dataclass(frozen=True)
class Actor:
    """Who acted: a person, or an API token (named, since a token may go)."""

    user_id: int | None = None
    api_token_id: int | None = None
    name: str = ""

    @classmethod
    def of(cls, *, user: Any = None, api_token: ApiToken | None = None) -> Actor:
        if api_token is not None:
            return cls(api_token_id=api_token.pk, name=f"token “{api_token.name}”")
        if user is not None and getattr(user, "pk", None) is not None:
            name = user.get_full_name() or user.get_username()
            return cls(user_id=user.pk, name=name)
        return cls(name="unknown")


def audit_record(
    *,
    tenant_id: int,
    actor: Actor,
    way_in: str,
    outcome: str,
    tool: str = "",
    risk: str = "",
    arguments: str = "",
    conversation_id: int | None = None,
    approval_needed: bool = False,
    approval_decision: str = "",
    approved_by: str = "",
    approved_at: datetime | None = None,
    duration_ms: int | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry; every field is as it was at the time (names, not just ids)."""
    return AuditEntry.objects.create(
        tenant_id=tenant_id,
        at=at or timezone.now(),
        user_id=actor.user_id,
        api_token_id=actor.api_token_id,
        actor=actor.name[:200],
        way_in=way_in,
        conversation_id=conversation_id,
        tool=tool[:200],
        risk=risk,
        arguments=arguments,
        approval_needed=approval_needed,
        approval_decision=approval_decision,
        approved_by=approved_by[:200],
        approved_at=approved_at,
        outcome=outcome[:64],
        duration_ms=duration_ms,
    )


def tenant_approval_policy_set(*, tenant: Tenant, policy: str, user: Any) -> bool:
    """Change what needs approval in ``tenant``'s chat, recorded in its audit log.

    Returns False (and records nothing) when the policy is already ``policy``.
    """
    new = Tenant.ApprovalPolicy(policy)
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        old = locked.approval_policy
        if old == new:
            return False
        Tenant.objects.filter(pk=tenant.pk).update(approval_policy=new)
        audit_record(
            tenant_id=tenant.pk,
            actor=Actor.of(user=user),
            way_in=AuditEntry.WayIn.SETTINGS,
            outcome="policy_changed",
            arguments=json.dumps({"approval_policy": {"from": old, "to": str(new)}}),
        )
    tenant.approval_policy = new
    return True


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    tool: str = ""
    risk: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None


def audit_entries_for(*, access: TenantAccess, user: Any, filters: AuditFilters) -> QuerySet[Any]:
    """The entries ``user`` may see in ``access.tenant``'s log: all for owners, their own
    otherwise; narrowed by ``filters``."""
    entries = AuditEntry.objects.filter(tenant=access.tenant)
    if access.role != Membership.Role.OWNER:
        entries = entries.filter(user=user)
    if filters.actor:
        entries = entries.filter(actor__icontains=filters.actor)
    if filters.tool:
        entries = entries.filter(tool__icontains=filters.tool)
    if filters.risk:
        entries = entries.filter(risk=filters.risk)
    if filters.outcome:
        entries = entries.filter(outcome=filters.outcome)
    if filters.since:
        entries = entries.filter(at__date__gte=filters.since)
    if filters.until:
        entries = entries.filter(at__date__lte=filters.until)
    return entries.order_by("-at", "-id")


def audit_purge(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete entries older than the retention period; the number deleted."""
    keep = settings.AUDIT_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=keep)
    deleted, _ = AuditEntry.objects.filter(at__lt=cutoff).delete()
    return deleted
