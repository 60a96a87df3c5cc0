from __future__ import annotations

from django.urls import path

from tenants.api import tenant_credentials
from tenants.views import api_token_revoke_view, api_tokens

app_name = "tenants"

urlpatterns = [
    path("api/tenant/credentials", tenant_credentials, name="credentials"),
    path("tenants/<slug:slug>/api-tokens/", api_tokens, name="api_tokens"),
    path(
        "tenants/<slug:slug>/api-tokens/<int:pk>/revoke/",
        api_token_revoke_view,
        name="api_token_revoke",
    ),
]
