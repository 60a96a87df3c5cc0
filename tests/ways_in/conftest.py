"""Tenants wired to the GHL sandbox, the real registry, and websocket helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.db import connections
from django.test import Client

from config.asgi import application
from mcpbridge import registry as registry_module
from mcpbridge.registry import get_registry, tenant_key
from mcpbridge.sandbox import ANA, DENTAL, ROOFING, Sandbox
from mcpbridge.sandbox.seed import contact, location
from tenants.credentials import upsert_credentials
from tenants.models import Membership, Tenant
from tests.supervisor.conftest import server_command

EXTRA_LOCATIONS = {"loc_sandbox_bakery": "Corner Bakery", "loc_sandbox_garage": "Main St Garage"}


def sandbox_location_add(sandbox: Sandbox, location_id: str, name: str) -> None:
    """A third (fourth...) sub-account in the sandbox, with one contact of its own."""
    state = sandbox.state
    with state.lock:
        state.data["locations"][location_id] = location(location_id, name, "UTC", "Leeds", "WY")
        state.data["users"][ANA]["roles"]["locationIds"].append(location_id)
        cid = f"ct_{location_id}"
        state.data["contacts"][cid] = contact(
            cid, location_id, "Pat", name.split()[-1], f"pat@{location_id}.example.com",
            "+15550109999", [],
        )  # fmt: skip


def tenant_connect(sandbox: Sandbox, slug: str, location_id: str) -> Tenant:
    """A tenant whose credentials are real sandbox tokens, stored as a deploy script would."""
    tokens = sandbox.mint_tokens(location_id)
    tenant, _ = upsert_credentials(
        {
            "tenantId": slug,
            "locationId": location_id,
            "accessToken": tokens["access_token"],
            "refreshToken": tokens["refresh_token"],
            "expiresIn": tokens["expires_in"],
        }
    )
    return tenant


@pytest.fixture
async def bridge(settings, tmp_path, ghl_sandbox: Sandbox) -> AsyncIterator[Sandbox]:
    """The real registry, spawning ``python -m mcpbridge.ghl`` children against the sandbox."""
    settings.GHL_BASE_URL = ghl_sandbox.url
    settings.MCP_RUN_DIR = str(tmp_path / "run")
    for location_id, name in EXTRA_LOCATIONS.items():
        sandbox_location_add(ghl_sandbox, location_id, name)
    yield ghl_sandbox
    registry = registry_module._registries.get(asyncio.get_running_loop())
    if registry is not None:
        await registry.shutdown()
    # The async ORM runs in one shared thread whose connection would outlive the test
    # (and keep PostgreSQL from dropping the test database).
    await sync_to_async(connections.close_all)()


@dataclass
class World:
    acme: Tenant
    globex: Tenant
    owner: Any
    member: Any
    viewer: Any
    outsider: Any
    acme_token: str
    acme_viewer_token: str
    globex_token: str


@pytest.fixture
def world(bridge, user_factory, api_token_factory) -> World:
    """acme (Bright Smile Dental) with alice owner, bob member, vera viewer; charlie owns
    globex (Summit Roofing). Tokens: acme's member and viewer tokens, globex's token."""
    acme = tenant_connect(bridge, "acme", DENTAL)
    globex = tenant_connect(bridge, "globex", ROOFING)
    owner, member, viewer = user_factory("alice"), user_factory("bob"), user_factory("vera")
    outsider = user_factory("charlie")
    for user, tenant, role in (
        (owner, acme, Membership.Role.OWNER),
        (member, acme, Membership.Role.MEMBER),
        (viewer, acme, Membership.Role.VIEWER),
        (outsider, globex, Membership.Role.OWNER),
    ):
        Membership.objects.create(user=user, tenant=tenant, role=role)
    return World(
        acme=acme,
        globex=globex,
        owner=owner,
        member=member,
        viewer=viewer,
        outsider=outsider,
        acme_token=api_token_factory(acme)[1],
        acme_viewer_token=api_token_factory(acme, role=Membership.Role.VIEWER)[1],
        globex_token=api_token_factory(globex)[1],
    )


@pytest.fixture
def test_server(settings, world) -> World:
    """acme's child is the small test MCP server (slow tools, progress, crashes)."""
    settings.MCP_SERVER_COMMAND = list(server_command())
    return world


def refcount(tenant: Tenant) -> int:
    """How many calls hold ``tenant``'s child now."""
    rows = [row for row in get_registry().children() if row.key == tenant_key(tenant.pk)]
    return sum(row.refcount for row in rows)


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


BROWSER_ORIGIN = "http://localhost"


class Socket:
    """A ``WebsocketCommunicator`` on the real ASGI application, with protocol helpers."""

    def __init__(self, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.communicator = WebsocketCommunicator(application, path, headers=headers)
        self.backlog: list[dict[str, Any]] = []

    async def open(self) -> None:
        connected, _ = await self.communicator.connect(timeout=10)
        assert connected

    async def close_code(self) -> int | None:
        """Connect and return the code the server closes with at once."""
        await self.open()
        output = await self.communicator.receive_output(10)
        assert output["type"] == "websocket.close", output
        return output.get("code")

    async def send(self, message: Any) -> None:
        await self.communicator.send_json_to(message)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def event(self, wait: float = 20) -> dict[str, Any]:
        if self.backlog:
            return self.backlog.pop(0)
        output = await self.communicator.receive_output(wait)
        if output["type"] == "websocket.close":
            return {"type": "websocket.close", "code": output.get("code")}
        return json.loads(output["text"])

    async def until(
        self, match: Callable[[dict[str, Any]], bool], wait: float = 20
    ) -> dict[str, Any]:
        """The first event that matches; the others seen on the way are kept for later."""
        skipped = []
        try:
            while True:
                event = await self.event(wait)
                if match(event):
                    return event
                skipped.append(event)
        finally:
            self.backlog = skipped + self.backlog

    async def final(self, call_id: Any, wait: float = 20) -> dict[str, Any]:
        """The event that ends call ``call_id``: its tool.result or tool.error."""
        return await self.until(
            lambda e: e.get("id") == call_id and e["type"] in ("tool.result", "tool.error"),
            wait,
        )

    async def close(self) -> None:
        await self.communicator.disconnect()


def ws_headers(
    *, token: str | None = None, user: Any = None, origin: str | None = BROWSER_ORIGIN
) -> list[tuple[bytes, bytes]]:
    headers = []
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if user is not None:
        headers.append((b"cookie", f"sessionid={session_cookie(user)}".encode()))
    if origin is not None:
        # A browser sends the page's Host with its Origin.
        headers.append((b"host", b"localhost"))
        headers.append((b"origin", origin.encode()))
    return headers


@pytest.fixture
async def sockets() -> AsyncIterator[Callable[..., Socket]]:
    """``await sockets(slug, token=..., user=..., origin=...)``; all closed after the test."""
    made: list[Socket] = []

    async def make(slug: str, **kwargs: Any) -> Socket:
        headers = await sync_to_async(ws_headers)(**kwargs)
        socket = Socket(f"/ws/tenants/{slug}/", headers)
        made.append(socket)
        return socket

    yield make
    for socket in made:
        await socket.close()


class Response:
    """What the ASGI application answered to one HTTP request."""

    def __init__(self, message: dict[str, Any]) -> None:
        self.status_code: int = message["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        self.content: bytes = message["body"]

    def json(self) -> Any:
        return json.loads(self.content)

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.headers


class Api:
    """HTTP requests to the real ASGI application (``config.asgi.application``).

    ``user`` signs in with a session (and, for unsafe methods, sends a CSRF token
    unless ``csrf=False``); ``headers`` go with every request.
    """

    def __init__(
        self, headers: dict[str, str] | None = None, *, user: Any = None, csrf: bool = True
    ) -> None:
        self.headers = dict(headers or {})
        self.user = user
        self.csrf = csrf
        self.cookies: dict[str, str] = {}

    async def _sign_in(self) -> None:
        if self.user is not None and "sessionid" not in self.cookies:
            self.cookies["sessionid"] = await sync_to_async(session_cookie)(self.user)

    async def request(
        self, method: str, path: str, body: bytes | str = b"", headers: dict[str, str] | None = None
    ) -> Response:
        await self._sign_in()
        sent = {"Host": "localhost", **self.headers, **(headers or {})}
        cookies = dict(self.cookies)
        if method == "POST" and self.user is not None and self.csrf:
            secret = "c" * 32
            cookies["csrftoken"] = secret
            sent["X-CSRFToken"] = secret
        if cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        data = body.encode() if isinstance(body, str) else body
        if data:
            sent.setdefault("Content-Type", "application/json")
        pairs = [(k.lower().encode(), v.encode("latin1")) for k, v in sent.items()]
        communicator = HttpCommunicator(application, method, path, body=data, headers=pairs)
        response = Response(await communicator.get_response(timeout=30))
        await communicator.wait(timeout=5)
        return response

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return await self.request("GET", path, headers=headers)

    async def post(
        self, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        data = body if isinstance(body, str | bytes) else ("" if body is None else json.dumps(body))
        return await self.request("POST", path, data, headers)


def result_json(event: dict[str, Any]) -> Any:
    assert event["type"] == "tool.result", event
    assert event["isError"] is False, event
    return json.loads(event["content"][0]["text"])
