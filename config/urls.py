from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from config.health import health, livez
from config.jsonapi import page_not_found
from config.metrics import metrics
from mcpbridge.staff import children_page
from tenants.views import home

# Staff sign in through allauth, like everyone else; the admin's own form is not offered
# (a method replaced on purpose, which the type checker otherwise refuses).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

handler404 = page_not_found

urlpatterns = [
    path("", home, name="home"),
    path("health", health, name="health"),
    path("livez", livez, name="livez"),
    path("metrics", metrics, name="metrics"),
    path("admin/mcp/children/", children_page, name="mcp_children"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("tenants.urls")),
    path("", include("mcpbridge.ways_in.urls")),
    path("", include("mcpbridge.chat.urls")),
]
