from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from config.health import health
from config.metrics import metrics
from mcpbridge.admin_views import children_page

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("health", health, name="health"),
    path("metrics", metrics, name="metrics"),
    path("admin/mcp/children/", children_page, name="mcp_children"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
]
