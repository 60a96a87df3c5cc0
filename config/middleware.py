from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.deprecation import MiddlewareMixin


class ContentLengthGuard(MiddlewareMixin):
    """Answer 400 to a malformed Content-Length before any middleware trips over it."""

    def process_request(self, request: HttpRequest) -> JsonResponse | None:
        raw = request.META.get("CONTENT_LENGTH") or ""
        if raw == "" or (raw.isascii() and raw.isdigit()):
            return None
        return JsonResponse(
            {"code": "bad_request", "message": "Content-Length must be a whole number of bytes."},
            status=400,
        )
