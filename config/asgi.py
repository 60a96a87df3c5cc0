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
from mcpbridge.registry import sweeping_at_first_serve  # noqa: E402
from mcpbridge.ways_in.middleware import ApiTokenAuthMiddleware, BrowserOriginCheck  # noqa: E402
from mcpbridge.ways_in.routing import websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # A browser's Origin must be the site's own; programs send none and use a token.
        "websocket": BrowserOriginCheck(
            ApiTokenAuthMiddleware(
                # The stubs want their own URLPattern subclass, one whose callback is an app.
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))  # type: ignore[arg-type]
            )
        ),
    }
)
# The first connection is when a server is known to serve: the sweep of children left by
# a dead worker starts then, never when a management command sets Django up.
application = RequestContextMiddleware(sweeping_at_first_serve(router))
