from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_prometheus.exports import ExportToDjangoView


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition; behind a bearer token when ``METRICS_TOKEN`` is set."""
    expected = settings.METRICS_TOKEN
    if expected:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return JsonResponse(
                {"code": "unauthorized", "message": "A valid metrics token is required."},
                status=401,
            )
    return ExportToDjangoView(request)
