from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from config.jsonapi import (
    JsonRequestError,
    error_response,
    json_error,
    method_not_allowed,
    parse_json,
    read_body,
)
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


@csrf_exempt
def ghl_webhook(request: HttpRequest) -> JsonResponse:
    """``POST /webhooks/ghl``: GHL's signed app events (INSTALL, UNINSTALL)."""
    if request.method != "POST":
        return method_not_allowed("POST")
    try:
        body = read_body(request, limit=MAX_WEBHOOK_BYTES)
        webhook_signature_verify(body=body, headers=request.headers)
        event = app_event_parse(parse_json(body), body=body)
        outcome = app_event_receive(event)
    except JsonRequestError as exc:
        return error_response(exc)
    except SignatureRejectedError as exc:
        return json_error(401, "invalid_signature", str(exc))
    except ImproperlyConfigured:
        logger.exception("GHL webhook keys are misconfigured")
        return json_error(503, "misconfigured", "Webhook keys are not usable.")
    except WebhookRejectedError as exc:
        return json_error(exc.status, "rejected", exc.message)
    return JsonResponse({"status": outcome})
