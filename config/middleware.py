from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import sync_and_async_middleware

GetResponse = Callable[[HttpRequest], HttpResponse | Awaitable[HttpResponse]]


def _bad_content_length(request: HttpRequest) -> JsonResponse | None:
    raw = request.META.get("CONTENT_LENGTH") or ""
    if raw == "" or (raw.isascii() and raw.isdigit()):
        return None
    return JsonResponse(
        {"code": "bad_request", "message": "Content-Length must be a whole number of bytes."},
        status=400,
    )


@sync_and_async_middleware
def content_length_guard(get_response: GetResponse) -> Callable[..., object]:
    """Answer 400 to a malformed Content-Length before any middleware trips over it."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            return _bad_content_length(request) or await get_response(request)  # type: ignore[misc]

        markcoroutinefunction(async_middleware)
        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponse:
        return _bad_content_length(request) or get_response(request)  # type: ignore[return-value]

    return middleware
