"""``POST /api/tenant/credentials``: deploy scripts and staff push a tenant's GHL tokens.

Callers authenticate with ``Authorization: Bearer <ADMIN_API_TOKEN>`` or a
staff session (which, unlike the bearer token, is subject to CSRF). The body
is JSON whatever the Content-Type says, since ``curl -d`` sends form encoding.
No response ever carries a token.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from tenants.credentials import upsert_credentials
from tenants.exceptions import CredentialsConflictError, InvalidCredentialsPayloadError
from tenants.models import Tenant

MAX_BODY_BYTES = 64 * 1024
REQUIRED_FIELDS = ("tenantId", "accessToken", "locationId")


def _error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def _unauthorized(message: str) -> JsonResponse:
    response = _error(401, "unauthorized", message)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


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
        return "", _error(403, "forbidden", "Only staff may push tenant credentials.")
    return "", _unauthorized("Send Authorization: Bearer <ADMIN_API_TOKEN>, or sign in as staff.")


def _body_too_large(request: HttpRequest) -> bool:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    return declared > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES


def _csrf_rejected(request: HttpRequest) -> bool:
    # The view is csrf_exempt for bearer callers; sessions get the usual check.
    middleware = CsrfViewMiddleware(lambda _request: HttpResponse())
    return middleware.process_view(request, None, (), {}) is not None  # type: ignore[arg-type]  # the check never calls the view


def _parse(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidCredentialsPayloadError({"body": ["Must be valid UTF-8 JSON."]}) from None
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
        response = _error(405, "method_not_allowed", "Use POST.")
        response["Allow"] = "POST"
        return response
    caller, denied = _authenticate(request)
    if denied is not None:
        return denied
    if _body_too_large(request):
        return _error(413, "too_large", f"The body must be at most {MAX_BODY_BYTES} bytes.")
    if caller == "session" and _csrf_rejected(request):
        return _error(403, "csrf_failed", "CSRF check failed: send the X-CSRFToken header.")
    try:
        tenant, created = upsert_credentials(_parse(request.body))
    except InvalidCredentialsPayloadError as exc:
        return _error(400, "invalid", "The request has errors.", fields=exc.errors)
    except CredentialsConflictError as exc:
        return _error(409, "conflict", exc.message, fields={exc.field: [exc.message]})
    return JsonResponse(_summary(tenant, created=created), status=201 if created else 200)
