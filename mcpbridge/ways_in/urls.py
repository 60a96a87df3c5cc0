from __future__ import annotations

from django.urls import path

from mcpbridge.ways_in import http_views as views

app_name = "mcpbridge"

urlpatterns = [
    path("mcp/<slug:slug>/tools", views.tenant_tools, name="tenant_tools"),
    path("mcp/<slug:slug>/tool/<str:name>", views.tenant_tool, name="tenant_tool"),
    path("tools", views.tools, name="tools"),
    path("tools/<str:name>", views.tool, name="tool"),
    path("api/openapi.json", views.openapi, name="openapi"),
]
