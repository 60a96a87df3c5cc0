from __future__ import annotations

from django.urls import path

from tenants.api import tenant_credentials
from tenants.audit_views import approval_policy_view, audit_csv, audit_page
from tenants.settings_views import tenant_settings
from tenants.token_views import api_token_revoke_view, api_tokens
from tenants.views import ghl_webhook

app_name = "tenants"

urlpatterns = [
    path("api/tenant/credentials", tenant_credentials, name="credentials"),
    path("webhooks/ghl", ghl_webhook, name="ghl_webhook"),
    path("tenants/<slug:slug>/settings/", tenant_settings, name="settings"),
    path("tenants/<slug:slug>/api-tokens/", api_tokens, name="api_tokens"),
    path("tenants/<slug:slug>/audit/", audit_page, name="audit"),
    path("tenants/<slug:slug>/audit.csv", audit_csv, name="audit_csv"),
    path("tenants/<slug:slug>/approvals/", approval_policy_view, name="approval_policy"),
    path(
        "tenants/<slug:slug>/api-tokens/<int:pk>/revoke/",
        api_token_revoke_view,
        name="api_token_revoke",
    ),
]
