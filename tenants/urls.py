from __future__ import annotations

from django.urls import path

from tenants.api import tenant_credentials

app_name = "tenants"

urlpatterns = [
    path("api/tenant/credentials", tenant_credentials, name="credentials"),
]
