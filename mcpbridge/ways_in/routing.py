from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import URLPattern, path, re_path

from mcpbridge.ways_in.consumer import ToolsConsumer

#: The close code of a socket opened on a path the hub does not serve.
NOT_FOUND = 4404


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Any other path: accepted only to be closed with 4404, rather than an error."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=NOT_FOUND)


websocket_urlpatterns: list[URLPattern] = [
    # Channels routes ASGI apps through Django's path(), which the stubs type for views.
    path("ws/tenants/<slug:slug>/", ToolsConsumer.as_asgi(), name="ws_tenant_tools"),  # type: ignore[arg-type]
    re_path(r"", UnknownPathConsumer.as_asgi()),  # type: ignore[arg-type]  # as above
]
