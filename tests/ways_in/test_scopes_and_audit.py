"""API tokens call only the kinds of tools their scopes name, and every call from every way in
lands in the tenant's audit log: the real ASGI application, registry, GHL child and sandbox."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from mcpbridge.audit import audit_drain
from tenants.access import api_token_create
from tenants.models import ApiToken, AuditEntry
from tests.ways_in.conftest import Api

pytestmark = pytest.mark.django_db(transaction=True)

BOB = "ct_dental_bob"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def read_token(world) -> tuple[ApiToken, str]:
    return await sync_to_async(api_token_create)(
        tenant=world.acme, name="reporting", created_by=None, scopes=frozenset({"read"})
    )


async def test_a_read_scoped_token_is_refused_a_destructive_tool_over_http(world, bridge):
    token, plaintext = await read_token(world)
    api = Api(headers=bearer(plaintext))
    refused = await api.post("/mcp/acme/tool/delete_contact", {"contactId": BOB})
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert bridge.requests(f"/contacts/{BOB}", "DELETE") == []
    allowed = await api.post("/mcp/acme/tool/get_contact", {"contactId": BOB})
    assert allowed.status_code == 200

    await audit_drain()
    entries = [e async for e in AuditEntry.objects.filter(api_token=token).order_by("id")]
    assert [(e.tool, e.risk, e.outcome, e.way_in) for e in entries] == [
        ("delete_contact", "destructive", "insufficient_scope", "http"),
        ("get_contact", "read", "ok", "http"),
    ]
    assert entries[0].actor == "token “reporting”"
    assert BOB in entries[0].arguments


async def test_a_read_scoped_token_is_refused_a_write_tool_on_the_websocket(world, bridge, sockets):
    _, plaintext = await read_token(world)
    socket = await sockets("acme", token=plaintext, origin=None)
    await socket.open()
    await socket.send(
        {
            "type": "tools.call",
            "id": 1,
            "name": "create_contact",
            "arguments": {"firstName": "Eve", "email": "eve@example.com"},
        }
    )
    final = await socket.final(1)
    assert (final["type"], final["code"]) == ("tool.error", "insufficient_scope")
    assert bridge.requests("/contacts/", "POST") == []
    await audit_drain()
    entry = await AuditEntry.objects.aget(tool="create_contact")
    assert (entry.way_in, entry.risk, entry.outcome) == ("websocket", "write", "insufficient_scope")


async def test_a_viewer_token_is_read_only_whatever_it_was_given(world):
    token, _ = await sync_to_async(api_token_create)(
        tenant=world.acme,
        name="viewer",
        created_by=None,
        role="viewer",
        scopes=frozenset({"read", "write", "destructive"}),
    )
    assert token.scope_set == frozenset({"read"})


async def test_the_explorer_and_member_calls_are_audited_with_the_person(world, sockets):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send(
        {"type": "tools.call", "id": "x", "name": "get_contact", "arguments": {"contactId": BOB}}
    )
    assert (await socket.final("x"))["type"] == "tool.result"
    await audit_drain()
    entry = await AuditEntry.objects.aget(tool="get_contact")
    assert (entry.way_in, entry.actor, entry.user_id, entry.outcome) == (
        "explorer",
        "bob",
        world.member.pk,
        "ok",
    )
    assert entry.duration_ms is not None


async def test_secrets_in_arguments_never_reach_the_audit_log(world):
    api = Api(headers=bearer(world.acme_token))
    await api.post(
        "/mcp/acme/tool/get_contact", {"contactId": BOB, "apiKey": "sk-should-not-be-kept-1234"}
    )
    await audit_drain()
    entry = await AuditEntry.objects.aget(tool="get_contact")
    assert "sk-should-not-be-kept-1234" not in entry.arguments
    assert "[redacted]" in entry.arguments


async def test_a_tool_name_holding_a_nul_is_unknown_and_its_call_still_audited(world, sockets):
    # PostgreSQL stores no NUL character: the entry once failed to store, taking its batch along.
    socket = await sockets("acme", token=world.acme_token, origin=None)
    await socket.open()
    await socket.send({"type": "tools.call", "id": 1, "name": "get\u0000location"})
    assert (await socket.final(1))["code"] == "unknown_tool"
    http = await Api(headers=bearer(world.acme_token)).post("/mcp/acme/tool/get%00contact", {})
    assert http.json()["code"] == "unknown_tool"

    await audit_drain()
    entries = [e async for e in AuditEntry.objects.order_by("id")]
    assert [(e.tool, e.outcome) for e in entries] == [
        ("getlocation", "unknown_tool"),
        ("getcontact", "unknown_tool"),
    ]
