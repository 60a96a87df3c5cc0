"""An ASGI app for the shutdown test: GET /<key> starts that key's child and returns its pid.

It runs under real daphne with the project's settings and registry; only the spec is
the test server's instead of a tenant's.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from mcpbridge.registry import get_registry  # noqa: E402
from tests.supervisor.conftest import fixed, make_spec  # noqa: E402


async def application(scope: dict, receive, send) -> None:
    if scope["type"] != "http":
        return
    key = scope["path"].strip("/")
    async with get_registry().supervisor.acquire(key, fixed(make_spec(key))) as client:
        body = str(client.pid).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
