"""The sandbox's ASGI application."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mcpbridge.sandbox import (
    api_account,
    api_calendars,
    api_commerce,
    api_contacts,
    api_conversations,
    api_opportunities,
    oauth,
    webhooks,
)
from mcpbridge.sandbox.state import SandboxState
from mcpbridge.sandbox.web import ghl_error


async def index(request: Request) -> Response:
    return RedirectResponse("/about")


async def about(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    with state.lock:
        locations = {loc["id"]: loc["name"] for loc in state.data["locations"].values()}
        users = {u["id"]: u["name"] for u in state.data["users"].values()}
    return JSONResponse(
        {
            "service": "Local GHL sandbox (not HighLevel)",
            "client_id": state.client_id,
            "authorize": "/oauth/chooselocation",
            "token": "/oauth/token",
            "locations": locations,
            "users": users,
        }
    )


async def not_found(request: Request, exc: Exception) -> Response:
    return ghl_error(404, f"Cannot {request.method} {request.url.path}")


async def not_allowed(request: Request, exc: Exception) -> Response:
    return ghl_error(404, f"Cannot {request.method} {request.url.path}")


def create_app(state: SandboxState) -> Starlette:
    routes = [
        Route("/", index),
        Route("/about", about),
        *oauth.routes,
        *api_contacts.routes,
        *api_conversations.routes,
        *api_calendars.routes,
        *api_opportunities.routes,
        *api_account.routes,
        *api_commerce.routes,
        *webhooks.routes,
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    app.state.sandbox = state
    return app
