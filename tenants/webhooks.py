"""GHL's app webhooks: INSTALL and UNINSTALL, verified, once each.

A delivery is accepted once: its ``webhookId`` (or, without one, the hash of
its body) is recorded, and a repeat answers ``duplicate`` without acting. A
signed delivery older than ``GHL_WEBHOOK_MAX_AGE`` is refused, so a captured
one cannot be replayed once its record is pruned; and an UNINSTALL older than
the tenant's current connection leaves that newer connection alone.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import HubError
from config.logging import tenant_logging
from tenants.models import Tenant, TenantSecret, WebhookEvent
from tenants.services import tenant_uninstall

logger = logging.getLogger(__name__)

INSTALL = "INSTALL"
UNINSTALL = "UNINSTALL"
# Records are kept well past the replay window, then pruned.
RETENTION = timedelta(days=7)


class WebhookRejectedError(HubError):
    """A signed delivery the hub will not act on; ``status`` is the HTTP answer."""

    code = "rejected"
    permanent = True

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class AppEvent:
    event_type: str
    delivery_id: str
    sent_at: datetime
    location_id: str
    company_id: str


def _text(data: dict[str, Any], key: str, limit: int = 64) -> str:
    value = data.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _sent_at(data: dict[str, Any]) -> datetime:
    raw = data.get("timestamp")
    if raw is None or raw == "":
        # Without a time a captured delivery could be replayed once its record is pruned.
        raise WebhookRejectedError("timestamp is required.")
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise WebhookRejectedError("timestamp must be an ISO 8601 date and time.") from None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


def app_event_parse(data: object, *, body: bytes) -> AppEvent:
    """The fields the hub uses from a webhook body; raise :class:`WebhookRejectedError`."""
    if not isinstance(data, dict):
        raise WebhookRejectedError("The body must be a JSON object.")
    event_type = _text(data, "type")
    if not event_type:
        raise WebhookRejectedError("type is required.")
    delivery_id = _text(data, "webhookId", 128) or "sha256:" + hashlib.sha256(body).hexdigest()
    return AppEvent(
        event_type=event_type,
        delivery_id=delivery_id,
        sent_at=_sent_at(data),
        location_id=_text(data, "locationId"),
        company_id=_text(data, "companyId"),
    )


def _require_fresh(event: AppEvent, *, now: datetime) -> None:
    window = timedelta(seconds=settings.GHL_WEBHOOK_MAX_AGE)
    if not now - window <= event.sent_at <= now + window:
        raise WebhookRejectedError(
            "The event's timestamp is outside the accepted window; it is not processed."
        )


def app_event_receive(event: AppEvent) -> str:
    """Act on an app event once; return what happened (``duplicate`` for a repeat)."""
    now = timezone.now()
    _require_fresh(event, now=now)
    with transaction.atomic():
        record = _record(event)
        if record is None:
            return "duplicate"
        outcome = _handle(event)
        record.outcome = outcome
        record.save(update_fields=["outcome"])
    WebhookEvent.objects.filter(received_at__lt=now - RETENTION).delete()
    return outcome


def _record(event: AppEvent) -> WebhookEvent | None:
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(
                delivery_id=event.delivery_id,
                event_type=event.event_type[:64],
                location_id=event.location_id,
                company_id=event.company_id,
                sent_at=event.sent_at,
            )
    except IntegrityError:
        return None


def _handle(event: AppEvent) -> str:
    if event.event_type == UNINSTALL:
        return _uninstall(event)
    if event.event_type == INSTALL:
        return _install(event)
    return "ignored: not an app event"


def _tenants_of(event: AppEvent) -> list[Tenant]:
    if event.location_id:
        return list(Tenant.objects.filter(location_id=event.location_id))
    if event.company_id:
        # An agency-level uninstall ends the app in every sub-account of the agency.
        return list(Tenant.objects.filter(company_id=event.company_id))
    return []


def _uninstall(event: AppEvent) -> str:
    tenants = _tenants_of(event)
    done = [tenant.slug for tenant in tenants if _uninstall_tenant(tenant, event)]
    return "uninstalled: " + ", ".join(done) if done else "ignored: no connected tenant"


def _uninstall_tenant(tenant: Tenant, event: AppEvent) -> bool:
    secret = TenantSecret.objects.filter(tenant=tenant).first()
    # Delivered late, after the user had already connected again: not about this connection.
    if secret is not None and event.sent_at < secret.created_at:
        return False
    if secret is None and tenant.status == Tenant.Status.UNINSTALLED:
        return False
    with tenant_logging(tenant.slug):
        logger.info("GHL uninstalled the app; the tenant's credentials are deleted")
        tenant_uninstall(tenant=tenant)
    return True


def _install(event: AppEvent) -> str:
    # Tokens arrive through the OAuth callback, not here; the event only says
    # which agency a known location belongs to.
    if not event.location_id:
        return "recorded"
    tenant = Tenant.objects.filter(location_id=event.location_id).first()
    if tenant is None:
        return "recorded"
    if event.company_id and not tenant.company_id:
        tenant.company_id = event.company_id
        tenant.save(update_fields=["company_id", "updated_at"])
    return f"recorded for {tenant.slug}"
