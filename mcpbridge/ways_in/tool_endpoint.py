"""What the HTTP tool endpoints share: callers, JSON bodies, and one error mapping.

Bodies and errors follow :mod:`config.jsonapi`; a tool call's error gets the status of
:data:`STATUS_BY_CODE`, and docs/http-api.md "Tool endpoints" lists them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from config.jsonapi import (
    JsonRequestError,
    bearer_challenge,
    csrf_failed,
    csrf_rejected,
    error_response,
    json_error,
    method_not_allowed,
    read_json_object,
    unexpected_response,
)
from mcpbridge.ratelimit import RateUsage
from mcpbridge.supervisor.errors import BridgeError
from mcpbridge.tools import call_error_payload
from mcpbridge.ways_in.callers import (
    Caller,
    NotAuthenticatedError,
    TenantRequiredError,
    bearer_token,
    caller_from_token,
    caller_from_user,
)

logger = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "unknown_tool": 404,
    "invalid_arguments": 422,
    "insufficient_scope": 403,
    "rate_limited": 429,
    "tenant_unavailable": 409,
    "ghl_unavailable": 503,
    "at_capacity": 503,
    "shutting_down": 503,
    "child_restarting": 503,
    "call_timeout": 504,
    # child_start_failed, child_failed, child_crashed, child_unresponsive,
    # child_stopped, tool_call_failed and anything new: the tool process failed.
}
TRANSPORT_FAILURE = 502

View = Callable[..., Coroutine[Any, Any, HttpResponse]]


def bridge_error_response(exc: BridgeError) -> JsonResponse:
    payload = call_error_payload(exc)
    response = JsonResponse(payload, status=STATUS_BY_CODE.get(exc.code, TRANSPORT_FAILURE))
    if "retry_after" in payload:
        response["Retry-After"] = str(payload["retry_after"])
    return response


def _unauthenticated(message: str) -> JsonResponse:
    return bearer_challenge("unauthenticated", message, realm="tools")


async def request_caller(request: HttpRequest) -> Caller:
    """A bearer token if one is sent (and then only that), else the session's user."""
    raw = bearer_token(request.headers.get("Authorization"))
    if raw is not None:
        return await caller_from_token(raw)
    return caller_from_user(await _session_user(request))


# What request.auser() reads, but through database_sync_to_async: the connection goes
# back to the pool at once, where auser() would keep it until the tool call has ended.
@database_sync_to_async
def _session_user(request: HttpRequest) -> Any:
    return get_user(request)


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The tool's arguments: the body as a JSON object, an empty body meaning ``{}``."""
    return read_json_object(request, limit=settings.TOOL_MAX_BODY_BYTES, empty={})


def with_rate_headers(response: HttpResponse, usage: RateUsage | None) -> HttpResponse:
    if usage is not None:
        for name, value in usage.headers().items():
            response[name] = value
    return response


def tool_endpoint(method: str) -> Callable[[View], View]:
    """Method check, caller, CSRF for sessions, and the error mapping around a tool view.

    The view gets ``(request, caller, **kwargs)``. A view sets ``request.rate_usage``
    once the tenant is known, so errors after that carry the rate headers too.
    """

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        async def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            response = await _guarded(view, method, request, **kwargs)
            add_never_cache_headers(response)
            return with_rate_headers(response, getattr(request, "rate_usage", None))

        return wrapper

    return decorate


async def _guarded(view: View, method: str, request: HttpRequest, **kwargs: Any) -> HttpResponse:
    if request.method != method:
        return method_not_allowed(method)
    try:
        caller = await request_caller(request)
        if method == "POST" and not caller.uses_token and csrf_rejected(request):
            return csrf_failed()
        return await view(request, caller, **kwargs)
    except NotAuthenticatedError as exc:
        return _unauthenticated(exc.message)
    except Http404:
        return json_error(404, "not_found", "No such tenant.")
    except PermissionDenied as exc:
        return json_error(403, "forbidden", str(exc) or "Your role does not allow this.")
    except TenantRequiredError as exc:
        return json_error(400, "tenant_required", exc.message)
    except JsonRequestError as exc:
        return error_response(exc)
    except BridgeError as exc:
        return bridge_error_response(exc)
    except Exception as exc:
        # JSON whatever failed below, never Django's HTML 500 page.
        return unexpected_response(exc, "tool endpoint")
