"""ASGI entry point: HTTP to Django, websockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Set up Django (apps, settings) before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.access import RequestContextMiddleware  # noqa: E402
from mcpbridge.ways_in.middleware import ApiTokenAuthMiddleware, browser_origin_validator  # noqa: E402
from mcpbridge.ways_in.routing import websocket_urlpatterns  # noqa: E402

application = RequestContextMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            # A browser's Origin must be an allowed host; programs send none and use a token.
            "websocket": browser_origin_validator(
                ApiTokenAuthMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
            ),
        }
    )
)
