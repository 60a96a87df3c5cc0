from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tenants.models import Membership, Tenant
from tenants.settings_views import tenant_connection
from tenants.webhook_signatures import SignatureRejectedError, webhook_signature_verify
from tenants.webhooks import WebhookRejectedError, app_event_parse, app_event_receive

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantRow:
    tenant: Tenant
    role: str
    connection: str
    needs_reconnect: bool


def _tenant_rows(user: User) -> list[TenantRow]:
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("tenant", "tenant__secret")
        .order_by("tenant__name", "tenant__slug")
    )
    rows = []
    for membership in memberships:
        connection = tenant_connection(membership.tenant)
        rows.append(
            TenantRow(
                membership.tenant,
                membership.get_role_display(),
                connection.summary,
                connection.needs_reconnect,
            )
        )
    return rows


def home(request: HttpRequest) -> HttpResponse:
    rows = _tenant_rows(request.user) if request.user.is_authenticated else []
    return render(request, "home.html", {"tenant_rows": rows})


MAX_WEBHOOK_BYTES = 64 * 1024


def _webhook_answer(http_status: int, **fields: str) -> JsonResponse:
    return JsonResponse(fields, status=http_status)


@csrf_exempt
@require_POST
def ghl_webhook(request: HttpRequest) -> JsonResponse:
    """``POST /webhooks/ghl``: GHL's signed app events (INSTALL, UNINSTALL)."""
    body = request.body
    if len(body) > MAX_WEBHOOK_BYTES:
        return _webhook_answer(413, code="too_large", message="The body is over 64 KB.")
    try:
        webhook_signature_verify(body=body, headers=request.headers)
    except SignatureRejectedError as exc:
        return _webhook_answer(401, code="invalid_signature", message=str(exc))
    except ImproperlyConfigured:
        logger.exception("GHL webhook keys are misconfigured")
        return _webhook_answer(503, code="misconfigured", message="Webhook keys are not usable.")
    try:
        event = app_event_parse(json.loads(body), body=body)
        outcome = app_event_receive(event)
    except ValueError:
        return _webhook_answer(400, code="invalid_json", message="The body is not JSON.")
    except WebhookRejectedError as exc:
        return _webhook_answer(exc.status, code="rejected", message=exc.message)
    return _webhook_answer(200, status=outcome)
