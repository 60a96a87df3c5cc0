from __future__ import annotations

from django.urls import path

from tenants.api import tenant_credentials
from tenants.views import ghl_webhook

app_name = "tenants"

urlpatterns = [
    path("api/tenant/credentials", tenant_credentials, name="credentials"),
    path("webhooks/ghl", ghl_webhook, name="ghl_webhook"),
]
