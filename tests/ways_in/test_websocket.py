"""The websocket ``ws/tenants/<slug>/`` against the real ASGI app, registry and GHL child."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session

from mcpbridge.registry import get_registry, tenant_key
from mcpbridge.sandbox import DENTAL
from tenants.access import api_token_create, api_token_revoke
from tenants.models import ApiToken, Membership, Tenant
from tenants.services import tenant_disable
from tests.supervisor.test_failures import wait_until
from tests.ways_in.conftest import EXTRA_LOCATIONS, Api, refcount, result_json, tenant_connect

pytestmark = pytest.mark.django_db(transaction=True)


# --- connecting -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "member", "viewer"])
async def test_members_of_every_role_connect_with_their_session(world, sockets, persona):
    socket = await sockets("acme", user=getattr(world, persona))
    await socket.open()
    await socket.send({"type": "tools.list"})
    assert (await socket.event())["type"] == "tools.list.result"


async def test_a_program_connects_with_an_api_token_and_no_origin(world, sockets):
    socket = await sockets("acme", token=world.acme_token, origin=None)
    await socket.open()
    await socket.send(
        {"type": "tools.call", "id": "c", "name": "search_contacts", "arguments": None}
    )
    contacts = result_json(await socket.final("c"))["contacts"]
    assert contacts
    assert {row["locationId"] for row in contacts} == {DENTAL}


async def test_an_outsider_is_closed_with_4404(world, sockets):
    assert await (await sockets("acme", user=world.outsider)).close_code() == 4404


async def test_an_unknown_tenant_is_closed_with_4404_like_a_foreign_one(world, sockets):
    assert await (await sockets("nope", user=world.member)).close_code() == 4404


async def test_tenant_as_token_on_tenant_bs_socket_is_closed_with_4404(world, sockets):
    socket = await sockets("globex", token=world.acme_token, origin=None)
    assert await socket.close_code() == 4404


async def test_no_credentials_are_closed_with_4401(world, sockets):
    assert await (await sockets("acme")).close_code() == 4401


async def test_a_wrong_token_is_closed_with_4401_even_with_a_members_session(world, sockets):
    socket = await sockets("acme", token="ghlhub_not-a-token", user=world.member)
    assert await socket.close_code() == 4401


async def test_a_session_cookie_without_an_origin_does_not_authenticate(world, sockets):
    socket = await sockets("acme", user=world.member, origin=None)
    assert await socket.close_code() == 4401


async def test_a_page_of_another_site_is_refused_at_the_handshake(world, sockets):
    socket = await sockets("acme", user=world.member, origin="https://evil.example")
    connected, _ = await socket.communicator.connect()
    assert connected is False


# --- calls --------------------------------------------------------------------------------


async def test_a_member_lists_and_calls_the_tenants_tools(world, sockets):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send({"type": "tools.list", "id": "l1"})
    listing = await socket.event()
    assert listing["type"] == "tools.list.result"
    assert listing["id"] == "l1"
    tools = {tool["name"]: tool for tool in listing["tools"]}
    assert tools["search_contacts"]["inputSchema"]["type"] == "object"
    await socket.send({"type": "tools.call", "id": 1, "name": "get_location", "arguments": {}})
    assert await socket.event() == {"type": "tool.started", "id": 1, "name": "get_location"}
    assert result_json(await socket.final(1))["location"]["id"] == DENTAL


async def test_twenty_sockets_of_four_tenants_each_get_their_own_five_results(
    world, sockets, bridge
):
    tenants = [world.acme, world.globex]
    for slug, location_id in zip(("bakery", "garage"), EXTRA_LOCATIONS, strict=True):
        tenants.append(await sync_to_async(tenant_connect)(bridge, slug, location_id))
    tokens = {}
    for tenant in tenants:
        tokens[tenant.slug] = await sync_to_async(_new_token)(tenant)
    opened = []
    for n in range(20):
        tenant = tenants[n % 4]
        socket = await sockets(tenant.slug, token=tokens[tenant.slug], origin=None)
        await socket.open()
        opened.append((socket, tenant))

    async def five_calls(socket, tenant) -> list[str]:
        # The same ids on every socket: only the socket tells the answers apart.
        for call_id in range(5):
            await socket.send({"type": "tools.call", "id": call_id, "name": "get_location"})
        finals = [await socket.final(call_id, wait=60) for call_id in range(5)]
        return [result_json(event)["location"]["id"] for event in finals]

    answers = await asyncio.gather(*(five_calls(s, t) for s, t in opened))
    for (_, tenant), locations in zip(opened, answers, strict=True):
        assert locations == [tenant.location_id] * 5
    assert all(refcount(tenant) == 0 for tenant in tenants)


def _new_token(tenant: Tenant) -> str:
    return api_token_create(tenant=tenant, name="load", created_by=None)[1]


async def test_a_tool_that_reports_a_failure_is_a_result_with_is_error(world, sockets):
    socket = await sockets("acme", token=world.acme_token, origin=None)
    await socket.open()
    await socket.send(
        {"type": "tools.call", "id": "x", "name": "get_contact", "arguments": {"contactId": "nope"}}
    )
    event = await socket.final("x")
    assert event["type"] == "tool.result"
    assert event["isError"] is True
    assert "404" in event["content"][0]["text"]


async def test_an_unknown_tool_and_bad_arguments_are_tool_errors_before_any_ghl_request(
    world, sockets, bridge
):
    socket = await sockets("acme", token=world.acme_token, origin=None)
    await socket.open()
    await socket.send({"type": "tools.call", "id": "a", "name": "launch_rocket"})
    await socket.send(
        {"type": "tools.call", "id": "b", "name": "get_contact", "arguments": {"contactId": 7}}
    )
    unknown, invalid = await socket.final("a"), await socket.final("b")
    # Refused before the tool was called: no tool.started for either.
    assert socket.backlog == []
    assert (unknown["type"], unknown["code"]) == ("tool.error", "unknown_tool")
    assert (invalid["type"], invalid["code"]) == ("tool.error", "invalid_arguments")
    assert any(line.startswith("contactId:") for line in invalid["errors"])
    assert bridge.requests(path="/contacts/7") == []


async def test_a_viewer_may_list_but_not_call(world, sockets):
    socket = await sockets("acme", user=world.viewer)
    await socket.open()
    await socket.send({"type": "tools.call", "id": 1, "name": "get_location"})
    event = await socket.final(1)
    assert (event["type"], event["code"]) == ("tool.error", "forbidden")
    await socket.send({"type": "tools.list"})
    assert (await socket.event())["type"] == "tools.list.result"


async def test_a_viewer_token_may_not_call_either(world, sockets):
    socket = await sockets("acme", token=world.acme_viewer_token, origin=None)
    await socket.open()
    await socket.send({"type": "tools.call", "id": 1, "name": "get_location"})
    assert (await socket.final(1))["code"] == "forbidden"


async def test_a_duplicate_id_in_flight_is_refused(test_server, sockets):
    socket = await sockets("acme", user=test_server.member)
    await socket.open()
    await socket.send({"type": "tools.call", "id": 1, "name": "sleep", "arguments": {"seconds": 1}})
    await socket.until(lambda e: e["type"] == "tool.started")
    await socket.send({"type": "tools.call", "id": 1, "name": "echo"})
    error = await socket.until(lambda e: e["type"] == "error")
    assert (error["code"], error["id"]) == ("duplicate_id", 1)
    assert (await socket.final(1))["type"] == "tool.result"


async def test_calls_beyond_the_sockets_limit_are_refused(test_server, sockets, settings):
    settings.WS_MAX_CALLS_IN_FLIGHT = 2
    socket = await sockets("acme", user=test_server.member)
    await socket.open()
    for call_id in (1, 2, 3):
        await socket.send(
            {"type": "tools.call", "id": call_id, "name": "sleep", "arguments": {"seconds": 0.5}}
        )
    assert (await socket.final(3))["code"] == "too_many_calls"
    assert (await socket.final(1))["type"] == (await socket.final(2))["type"] == "tool.result"


async def test_progress_notifications_are_passed_on_under_the_calls_id(test_server, sockets):
    socket = await sockets("acme", user=test_server.member)
    await socket.open()
    arguments = {"seconds": 0.3, "progress": True}
    await socket.send({"type": "tools.call", "id": "p", "name": "sleep", "arguments": arguments})
    progress = await socket.until(lambda e: e["type"] == "tool.progress")
    assert progress["id"] == "p"
    assert progress["progress"] >= 1
    assert (await socket.final("p"))["content"][0]["text"] == "slept"


async def test_a_crashing_child_is_a_tool_error_and_the_socket_carries_on(test_server, sockets):
    socket = await sockets("acme", user=test_server.member)
    await socket.open()
    await socket.send({"type": "tools.call", "id": 1, "name": "crash"})
    assert (await socket.final(1))["code"] == "child_crashed"
    await socket.send({"type": "tools.call", "id": 2, "name": "echo", "arguments": {"text": "hi"}})
    assert (await socket.final(2))["content"][0]["text"] == "hi"


# --- cancel and disconnect -------------------------------------------------------------------


async def test_cancelling_a_call_ends_it_with_cancelled_and_releases_the_child(
    world, sockets, bridge
):
    bridge.fail("/contacts/search", status=500, delay=5, method="POST")
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send({"type": "tools.call", "id": "slow", "name": "search_contacts"})
    await socket.until(lambda e: e["type"] == "tool.started")
    assert await wait_until(lambda: refcount(world.acme) == 1)
    await socket.send({"type": "call.cancel", "id": "slow"})
    event = await socket.final("slow", wait=2)
    assert (event["type"], event["code"]) == ("tool.error", "cancelled")
    assert await wait_until(lambda: refcount(world.acme) == 0, within=2)
    await socket.send({"type": "tools.call", "id": "next", "name": "get_location"})
    assert result_json(await socket.final("next"))["location"]["id"] == DENTAL


async def test_cancelling_an_unknown_call_is_an_error_event(world, sockets):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send({"type": "call.cancel", "id": "never"})
    assert await socket.event() == {
        "type": "error",
        "code": "unknown_call",
        "message": "No call with this id is running.",
        "id": "never",
    }


async def test_a_disconnect_mid_call_leaves_the_childs_refcount_at_zero(world, sockets, bridge):
    bridge.fail("/contacts/search", status=500, delay=5, method="POST", times=3)
    socket = await sockets("acme", token=world.acme_token, origin=None)
    await socket.open()
    for call_id in range(3):
        await socket.send({"type": "tools.call", "id": call_id, "name": "search_contacts"})
    for _ in range(3):
        await socket.until(lambda e: e["type"] == "tool.started")
    assert await wait_until(lambda: refcount(world.acme) == 3)
    await socket.close()
    assert refcount(world.acme) == 0
    [child] = [row for row in get_registry().children() if row.key == tenant_key(world.acme.pk)]
    assert child.pid is not None


# --- permission re-checked on every event ----------------------------------------------------


async def test_a_token_revoked_mid_session_gets_unauthenticated_and_4401(world, sockets, bridge):
    bridge.fail("/contacts/search", status=500, delay=5, method="POST")
    socket = await sockets("acme", token=world.acme_token, origin=None)
    await socket.open()
    await socket.send({"type": "tools.call", "id": 1, "name": "get_location"})
    assert (await socket.final(1))["type"] == "tool.result"
    await socket.send({"type": "tools.call", "id": "slow", "name": "search_contacts"})
    assert await wait_until(lambda: refcount(world.acme) == 1)
    token = await ApiToken.objects.aget(tenant=world.acme, role=Membership.Role.MEMBER)
    await sync_to_async(api_token_revoke)(token=token)
    await socket.send({"type": "tools.call", "id": 2, "name": "get_location"})
    assert (await socket.final(2))["code"] == "unauthenticated"
    closed = await socket.until(lambda e: e["type"] == "websocket.close")
    assert closed["code"] == 4401
    # The call in flight was cancelled with the socket's rights, and let go of the child.
    assert await wait_until(lambda: refcount(world.acme) == 0, within=2)


async def test_a_member_removed_mid_session_gets_not_found_and_4404(world, sockets):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await Membership.objects.filter(user=world.member).adelete()
    await socket.send({"type": "tools.list", "id": "l"})
    assert await socket.event() == {
        "type": "error",
        "code": "not_found",
        "message": "No such tenant.",
        "id": "l",
    }
    assert await socket.event() == {"type": "websocket.close", "code": 4404}


async def test_signing_out_ends_the_sockets_rights(world, sockets):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await Session.objects.all().adelete()
    await socket.send({"type": "tools.call", "id": 1, "name": "get_location"})
    assert (await socket.final(1))["code"] == "unauthenticated"


async def test_a_tenant_disabled_mid_session_gets_tenant_unavailable(world, sockets):
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await sync_to_async(tenant_disable)(tenant=world.acme)
    await socket.send({"type": "tools.call", "id": 1, "name": "get_location"})
    event = await socket.final(1)
    assert (event["type"], event["code"]) == ("tool.error", "tenant_unavailable")
    await socket.send({"type": "tools.call", "id": 2, "name": "get_location"})
    assert (await socket.final(2))["code"] == "tenant_unavailable"
    await socket.send({"type": "tools.list", "id": "l"})
    listing = await socket.event()
    assert (listing["type"], listing["code"], listing["id"]) == ("error", "tenant_unavailable", "l")


# --- the tenant's budget ---------------------------------------------------------------------


async def test_calls_over_the_tenants_budget_get_rate_limited_with_retry_after(
    world, sockets, settings, ratelimit_clock
):
    settings.TENANT_RATE_LIMIT = "2/m"
    first = await sockets("acme", token=world.acme_token, origin=None)
    second = await sockets("acme", user=world.owner)
    await first.open()
    await second.open()
    for call_id in (1, 2):
        await first.send({"type": "tools.call", "id": call_id, "name": "get_location"})
        assert (await first.final(call_id))["type"] == "tool.result"
    # The budget is the tenant's: another socket, another credential, the same count.
    await second.send({"type": "tools.call", "id": 3, "name": "get_location"})
    event = await second.final(3)
    assert (event["type"], event["code"]) == ("tool.error", "rate_limited")
    assert 1 <= event["retry_after"] <= 61
    other = await sockets("globex", user=world.outsider)
    await other.open()
    await other.send({"type": "tools.call", "id": 1, "name": "get_location"})
    assert (await other.final(1))["type"] == "tool.result"


async def test_the_socket_and_the_http_endpoints_spend_one_budget(
    world, sockets, settings, ratelimit_clock
):
    settings.TENANT_RATE_LIMIT = "2/m"
    api = Api({"Authorization": f"Bearer {world.acme_token}"})
    assert (await api.post("/mcp/acme/tool/get_location", {})).status_code == 200
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send({"type": "tools.call", "id": 1, "name": "get_location"})
    assert (await socket.final(1))["type"] == "tool.result"
    refused = await api.post("/mcp/acme/tool/get_location", {})
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    assert refused["RateLimit-Remaining"] == "0"
    await socket.send({"type": "tools.call", "id": 2, "name": "get_location"})
    assert (await socket.final(2))["code"] == "rate_limited"
