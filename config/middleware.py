from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin

# The pages run no inline script and load nothing from elsewhere; a script that slipped
# into a page (from the model, a tool or a stored name) would not run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
# Django's admin sets inline style attributes (widgets, collapsed fieldsets); scripts
# stay its own files only.
ADMIN_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


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


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Send a Content-Security-Policy with every response that has none of its own.

    Django's debug error pages (``DEBUG`` only) style themselves inline and are left alone.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if "Content-Security-Policy" in response.headers:
            return response
        if settings.DEBUG and response.status_code >= 400:
            return response
        admin = request.path.startswith(reverse("admin:index"))
        response.headers["Content-Security-Policy"] = (
            ADMIN_CONTENT_SECURITY_POLICY if admin else CONTENT_SECURITY_POLICY
        )
        return response
