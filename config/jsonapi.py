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
import re
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.views import defaults

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


#: Where the JSON APIs live: a URL under them that no route matches is a JSON 404 as well,
#: so that a client never has to read an HTML page (a tenant that is not a slug, a tool
#: name with a slash).
JSON_API_PREFIXES = ("/api/", "/mcp/", "/tools/", "/webhooks/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The ``handler404``: ``not_found`` as JSON under :data:`JSON_API_PREFIXES`, Django's
    page elsewhere."""
    if request.path == "/tools" or request.path.startswith(JSON_API_PREFIXES):
        return json_error(404, "not_found", "Nothing is served at this URL.")
    return defaults.page_not_found(request, exception)


def bearer_challenge(code: str, message: str, *, realm: str) -> JsonResponse:
    """A 401 that tells the caller to send ``Authorization: Bearer``."""
    response = json_error(401, code, message)
    response["WWW-Authenticate"] = f'Bearer realm="{realm}"'
    return response


def csrf_rejected(request: HttpRequest) -> bool:
    """True when a session caller's request fails Django's CSRF check.

    The views are ``csrf_exempt`` because bearer callers have no cookie to
    forge; session callers are checked here, as the middleware would. The
    middleware looks for the token in a form body first: one that cannot be
    parsed as the Content-Type says is refused as Django refuses it, with 400
    ``bad_request`` (413 ``too_large`` over ``DATA_UPLOAD_MAX_MEMORY_SIZE``), in JSON.
    """
    middleware = CsrfViewMiddleware(lambda _request: HttpResponse())
    try:
        # Read (and keep) the body first: a multipart parser would consume the stream,
        # and the view could no longer read the body as JSON.
        _ = request.body
        return middleware.process_view(request, None, (), {}) is not None  # type: ignore[arg-type]  # the check never calls the view
    except RequestDataTooBig:
        raise JsonRequestError(413, "too_large", "The body is too large.") from None
    except (MultiPartParserError, SuspiciousOperation):
        raise JsonRequestError(
            400, "bad_request", "The body is not the form its Content-Type says it is."
        ) from None


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


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in ``value`` holds half of a surrogate pair (``json.loads``
    joins whole pairs), walked without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_text_loads(text: str) -> Any:
    """``json.loads``, refusing with ``ValueError`` a string escaped as a lone surrogate
    (``"\\ud800"``): JSON's grammar allows one, but it is no text, and PostgreSQL, SQLite,
    a child's pipe and GHL all fail on it."""
    value = json.loads(text)
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise ValueError("A string holds a lone surrogate.")
    return value


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``; 400 ``invalid_json`` when it is not UTF-8 JSON."""
    try:
        return json_text_loads(body.decode("utf-8"))
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
