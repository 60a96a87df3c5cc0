"""``POST /api/tenant/credentials``: deploy scripts and staff push a tenant's GHL tokens.

Callers authenticate with ``Authorization: Bearer <ADMIN_API_TOKEN>`` or a
staff session (which, unlike the bearer token, is subject to CSRF); the body
and the errors follow :mod:`config.jsonapi`. No response ever carries a token.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from config.jsonapi import (
    JsonRequestError,
    bearer_challenge,
    csrf_failed,
    csrf_rejected,
    error_response,
    json_error,
    method_not_allowed,
    parse_json,
    read_body,
)
from tenants.credentials import upsert_credentials
from tenants.exceptions import CredentialsConflictError, InvalidCredentialsPayloadError
from tenants.models import Tenant

MAX_BODY_BYTES = 64 * 1024
REQUIRED_FIELDS = ("tenantId", "accessToken", "locationId")


def _unauthorized(message: str) -> JsonResponse:
    return bearer_challenge("unauthorized", message, realm="api")


def _admin_token_matches(presented: str) -> bool:
    expected = settings.ADMIN_API_TOKEN
    if not expected or not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def _authenticate(request: HttpRequest) -> tuple[str, JsonResponse | None]:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and _admin_token_matches(value.strip()):
            return "token", None
        return "", _unauthorized("The bearer token is not valid.")
    user = request.user
    if user.is_authenticated and user.is_active and user.is_staff:
        return "session", None
    if user.is_authenticated:
        return "", json_error(403, "forbidden", "Only staff may push tenant credentials.")
    return "", _unauthorized("Send Authorization: Bearer <ADMIN_API_TOKEN>, or sign in as staff.")


def _parse(body: bytes) -> dict[str, Any]:
    try:
        data = parse_json(body)
    except JsonRequestError as exc:
        raise InvalidCredentialsPayloadError({"body": [exc.message]}) from None
    if not isinstance(data, dict):
        raise InvalidCredentialsPayloadError({"body": ["Must be a JSON object."]})
    missing = {
        name: ["This field is required."]
        for name in REQUIRED_FIELDS
        if data.get(name) in (None, "")
    }
    if missing:
        raise InvalidCredentialsPayloadError(missing)
    return data


def _summary(tenant: Tenant, *, created: bool) -> dict[str, Any]:
    secret = tenant.secret
    return {
        "tenantId": tenant.slug,
        "locationId": tenant.location_id,
        "companyId": tenant.company_id,
        "status": tenant.status,
        "created": created,
        "version": secret.version,
        "expiresAt": secret.expires_at.isoformat() if secret.expires_at else None,
    }


@csrf_exempt
@never_cache
def tenant_credentials(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return method_not_allowed("POST")
    caller, denied = _authenticate(request)
    if denied is not None:
        return denied
    try:
        if caller == "session" and csrf_rejected(request):
            return csrf_failed()
        tenant, created = upsert_credentials(_parse(read_body(request, limit=MAX_BODY_BYTES)))
    except JsonRequestError as exc:
        return error_response(exc)
    except InvalidCredentialsPayloadError as exc:
        return json_error(400, "invalid", "The request has errors.", fields=exc.errors)
    except CredentialsConflictError as exc:
        return json_error(409, "conflict", exc.message, fields={exc.field: [exc.message]})
    return JsonResponse(_summary(tenant, created=created), status=201 if created else 200)
