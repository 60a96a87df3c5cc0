from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_prometheus.exports import ExportToDjangoView


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition: behind ``METRICS_TOKEN``, or open if ``METRICS_PUBLIC``."""
    expected = settings.METRICS_TOKEN
    if not expected and not settings.METRICS_PUBLIC:
        return JsonResponse(
            {"code": "forbidden", "message": "Set METRICS_TOKEN to scrape the metrics."},
            status=403,
        )
    if expected:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return JsonResponse(
                {"code": "unauthorized", "message": "A valid metrics token is required."},
                status=401,
            )
    return ExportToDjangoView(request)
