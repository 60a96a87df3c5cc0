"""The one way the hub answers a JSON API: the credentials API, GHL's webhooks, the tool endpoints.

Every error is ``{"code", "message"}`` (plus fields such as ``retry_after`` or
``fields`` where they apply) with a 4xx or 5xx status; a view raises
:class:`JsonRequestError` for what is wrong with the request and turns it into
a response with :func:`error_response`. Bodies are read with a size limit and
parsed as JSON whatever the Content-Type says, since ``curl -d`` sends form
encoding. Callers that authenticate with a session, unlike bearer callers, pass
the CSRF check.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware

from config.errors import HubError

logger = logging.getLogger(__name__)


class JsonRequestError(HubError):
    """What is wrong with a request, answered as ``status`` with ``{"code", "message"}``."""

    permanent = True

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


#: Seconds a caller is asked to wait when the database is not answering.
DATABASE_RETRY_AFTER = 5


def unexpected_error(exc: Exception, what: str) -> HubError:
    """What a caller is told of a failure no layer below expected, logged here once:
    ``service_unavailable`` while the database is not answering (a warning), else
    ``internal_error`` (an error with the traceback)."""
    if isinstance(exc, DatabaseError):
        logger.warning("%s: the database is not answering: %s", what, type(exc).__name__)
        return HubError(
            "The hub's database is not answering; try again in a moment.",
            code="service_unavailable",
            retry_after=DATABASE_RETRY_AFTER,
        )
    logger.error("%s failed", what, exc_info=exc)
    return HubError(
        "Something went wrong on the hub; try again in a moment.", code="internal_error"
    )


def unexpected_response(exc: Exception, what: str) -> JsonResponse:
    """:func:`unexpected_error` as JSON: 503 with ``Retry-After``, or 500."""
    error = unexpected_error(exc, what)
    if error.retry_after is None:
        return json_error(500, error.code, error.message)
    response = json_error(503, error.code, error.message, retry_after=error.retry_after)
    response["Retry-After"] = str(error.retry_after)
    return response


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def error_response(exc: JsonRequestError) -> JsonResponse:
    return json_error(exc.status, exc.code, exc.message)


def method_not_allowed(allowed: str) -> JsonResponse:
    response = json_error(405, "method_not_allowed", f"Use {allowed}.")
    response["Allow"] = allowed
    return response


def bearer_challenge(code: str, message: str, *, realm: str) -> JsonResponse:
    """A 401 that tells the caller to send ``Authorization: Bearer``."""
    response = json_error(401, code, message)
    response["WWW-Authenticate"] = f'Bearer realm="{realm}"'
    return response


def csrf_rejected(request: HttpRequest) -> bool:
    """True when a session caller's request fails Django's CSRF check.

    The views are ``csrf_exempt`` because bearer callers have no cookie to
    forge; session callers are checked here, as the middleware would.
    """
    middleware = CsrfViewMiddleware(lambda _request: HttpResponse())
    return middleware.process_view(request, None, (), {}) is not None  # type: ignore[arg-type]  # the check never calls the view


def csrf_failed() -> JsonResponse:
    return json_error(403, "csrf_failed", "CSRF check failed: send the X-CSRFToken header.")


def read_body(request: HttpRequest, *, limit: int) -> bytes:
    """The raw body, refused with 413 ``too_large`` past ``limit`` bytes: from the declared
    ``Content-Length`` before anything is read (``ContentLengthGuard`` has already refused
    one that is not a number), and again from what was read."""
    too_large = JsonRequestError(413, "too_large", f"The body must be at most {limit} bytes.")
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        raise too_large
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(body) > limit:
        raise too_large
    return body


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``; 400 ``invalid_json`` when it is not UTF-8 JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise JsonRequestError(400, "invalid_json", "The body must be UTF-8 JSON.") from None


def read_json_object(
    request: HttpRequest, *, limit: int, empty: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The body as a JSON object; a blank body gives ``empty`` when one is allowed."""
    body = read_body(request, limit=limit)
    if empty is not None and not body.strip():
        return dict(empty)
    data = parse_json(body)
    if not isinstance(data, dict):
        raise JsonRequestError(400, "invalid_json", "The body must be a JSON object.")
    return data
