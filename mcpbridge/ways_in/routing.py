from __future__ import annotations

from django.urls import URLPattern, path

from mcpbridge.ways_in.consumer import ToolsConsumer

websocket_urlpatterns: list[URLPattern] = [
    # Channels routes ASGI apps through Django's path(), which the stubs type for views.
    path("ws/tenants/<slug:slug>/", ToolsConsumer.as_asgi(), name="ws_tenant_tools"),  # type: ignore[arg-type]
]
