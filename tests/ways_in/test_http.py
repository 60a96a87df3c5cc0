"""HTTP tool endpoints against the real registry and GHL child (sandbox)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from mcpbridge.sandbox import DENTAL, ROOFING
from tenants.credentials import get_tenant_secrets
from tenants.models import Membership
from tenants.services import tenant_disable
from tests.supervisor.test_failures import wait_until
from tests.supervisor.test_supervisor import sample
from tests.ways_in.conftest import Api, refcount

pytestmark = pytest.mark.django_db(transaction=True)

RATE_HEADERS = [
    f"{prefix}RateLimit-{name}" for prefix in ("", "X-") for name in ("Limit", "Remaining", "Reset")
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def persona_api(world: Any, persona: str | None, **kwargs: Any) -> Api:
    return Api(user=getattr(world, persona) if persona else None, **kwargs)


def result_json(response: Any) -> Any:
    body = response.json()
    assert body["isError"] is False, body
    return json.loads(body["content"][0]["text"])


# --- personas on every endpoint ---------------------------------------------------------------

LIST_EXPECTED = {"owner": 200, "member": 200, "viewer": 200, "outsider": 404, None: 401}
CALL_EXPECTED = {"owner": 200, "member": 200, "viewer": 403, "outsider": 404, None: 401}


async def test_the_tenants_tool_list_answers_each_persona_as_its_role_allows(world):
    for persona, status in LIST_EXPECTED.items():
        client = persona_api(world, persona)
        response = await client.get("/mcp/acme/tools")
        assert response.status_code == status, persona
        if status == 200:
            assert "search_contacts" in {tool["name"] for tool in response.json()["tools"]}
        else:
            assert set(response.json()) == {"code", "message"}


async def test_a_tenants_tool_call_answers_each_persona_as_its_role_allows(world):
    for persona, status in CALL_EXPECTED.items():
        client = persona_api(world, persona)
        response = await client.post("/mcp/acme/tool/get_location", {})
        assert response.status_code == status, persona
        if status == 200:
            assert result_json(response)["location"]["id"] == DENTAL
    codes = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}
    for persona, status in CALL_EXPECTED.items():
        if status in codes:
            client = persona_api(world, persona)
            response = await client.post("/mcp/acme/tool/get_location", {})
            assert response.json()["code"] == codes[status]


async def test_tools_without_a_tenant_in_the_path_use_the_callers_only_tenant(world):
    for persona, location in (("owner", DENTAL), ("member", DENTAL), ("outsider", ROOFING)):
        client = Api(user=getattr(world, persona))
        listing = await client.get("/tools")
        assert listing.status_code == 200
        expected = "acme" if location == DENTAL else "globex"
        assert listing.json()["tenant"] == expected
        response = await client.post("/tools/get_location", {})
        assert result_json(response)["location"]["id"] == location
    viewer = Api(user=world.viewer)
    assert (await viewer.post("/tools/get_location", {})).status_code == 403
    assert (await Api().get("/tools")).status_code == 401


async def test_an_api_token_reaches_its_own_tenant_on_every_path(world):
    client = Api(bearer(world.acme_token))
    assert (await client.get("/mcp/acme/tools")).status_code == 200
    assert (await client.get("/tools")).json()["tenant"] == "acme"
    for path in ("/mcp/acme/tool/get_location", "/tools/get_location"):
        assert result_json(await client.post(path, {}))["location"]["id"] == DENTAL


# --- cross-tenant attempts ----------------------------------------------------------------------


async def test_tenant_as_token_on_tenant_bs_paths_is_not_found(world, bridge):
    client = Api(bearer(world.acme_token))
    assert (await client.get("/mcp/globex/tools")).status_code == 404
    response = await client.post("/mcp/globex/tool/get_location", {})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert bridge.requests(path=f"/locations/{ROOFING}") == []


async def test_a_spoofed_x_tenant_id_is_not_found_for_tokens_and_sessions(world, bridge):
    token = Api({**bearer(world.acme_token), "X-Tenant-ID": "globex"})
    assert (await token.get("/tools")).status_code == 404
    assert (await token.post("/tools/get_location", {})).status_code == 404
    session = Api({"X-Tenant-ID": "globex"}, user=world.member)
    assert (await session.get("/tools")).status_code == 404
    assert (await session.post("/tools/get_location", {})).status_code == 404
    assert bridge.requests(path=f"/locations/{ROOFING}") == []


async def test_a_token_naming_its_own_tenant_in_x_tenant_id_is_fine(world):
    client = Api({**bearer(world.acme_token), "X-Tenant-ID": "acme"})
    assert (await client.get("/tools")).status_code == 200


async def test_a_user_of_several_tenants_must_name_one(world):
    await Membership.objects.acreate(
        user=world.member, tenant=world.globex, role=Membership.Role.MEMBER
    )
    client = Api(user=world.member)
    response = await client.get("/tools")
    assert (response.status_code, response.json()["code"]) == (400, "tenant_required")
    chosen = Api({"X-Tenant-ID": "globex"}, user=world.member)
    assert result_json(await chosen.post("/tools/get_location", {}))["location"]["id"] == ROOFING


@pytest.mark.parametrize(
    "header",
    ["Bearer ghlhub_not-a-real-token", "Bearer ", "Basic YWxpY2U6cHc=", "Token abc"],
)
async def test_a_bad_authorization_header_is_401_even_with_a_members_session(world, header):
    client = Api({"Authorization": header}, user=world.member)
    response = await client.get("/mcp/acme/tools")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


async def test_a_revoked_token_is_401(world):
    await world.acme.api_tokens.filter(role=Membership.Role.MEMBER).aupdate(
        revoked_at="2020-01-01T00:00:00Z"
    )
    client = Api(bearer(world.acme_token))
    assert (await client.get("/mcp/acme/tools")).status_code == 401


# --- CSRF ------------------------------------------------------------------------------------


async def test_a_session_post_needs_the_csrf_token_and_a_bearer_post_does_not(world):
    without = Api(user=world.member, csrf=False)
    response = await without.post("/mcp/acme/tool/get_location", {})
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    with_csrf = Api(user=world.member)
    assert (await with_csrf.post("/mcp/acme/tool/get_location", {})).status_code == 200
    token = Api(bearer(world.acme_token))
    assert (await token.post("/mcp/acme/tool/get_location", {})).status_code == 200


# --- bodies ------------------------------------------------------------------------------------


async def test_a_json_body_is_read_whatever_the_content_type_says(world):
    client = Api(bearer(world.acme_token))
    response = await client.post(
        "/mcp/acme/tool/search_contacts",
        '{"query": "alice"}',
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    contacts = result_json(response)["contacts"]
    assert [row["firstName"] for row in contacts] == ["Alice"]
    empty = await client.post("/mcp/acme/tool/get_location")
    assert result_json(empty)["location"]["id"] == DENTAL


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, "invalid_json"),
        ("[1, 2]", 400, "invalid_json"),
        ('"text"', 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
        (" " * 300_000, 413, "too_large"),
    ],
)
async def test_a_bad_body_is_a_4xx_with_a_json_error(world, body, status, code):
    client = Api(bearer(world.acme_token))
    response = await client.post("/mcp/acme/tool/get_location", body)
    assert (response.status_code, response.json()["code"]) == (status, code)


async def test_a_lone_surrogate_in_the_arguments_is_invalid_json_and_a_pair_is_text(world):
    client = Api(bearer(world.acme_token))
    lone = await client.post("/mcp/acme/tool/search_contacts", '{"query": "\\ud800"}')
    assert (lone.status_code, lone.json()["code"]) == (400, "invalid_json")
    pair = await client.post("/mcp/acme/tool/search_contacts", '{"query": "\\ud83d\\ude00"}')
    assert pair.json()["isError"] is False


async def test_a_session_call_sent_as_a_multipart_form_is_still_read_as_json(world):
    client = Api(user=world.member)
    form = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": "2"}
    response = await client.post("/mcp/acme/tool/get_location", "{}", form)
    assert result_json(response)["location"]["id"] == DENTAL


async def test_a_session_call_whose_multipart_type_cannot_be_parsed_is_a_json_400(world):
    # The CSRF check reads a form body for its token; this one once ended in a 500.
    client = Api(user=world.member)
    response = await client.post(
        "/mcp/acme/tool/get_location", "{}", {"Content-Type": "multipart/form-data"}
    )
    assert (response.status_code, response.json()["code"]) == (400, "bad_request")


async def test_the_wrong_method_is_a_json_405(world):
    client = Api(bearer(world.acme_token))
    response = await client.get("/mcp/acme/tool/get_location")
    assert (response.status_code, response["Allow"]) == (405, "POST")
    assert response.json()["code"] == "method_not_allowed"
    assert (await client.post("/mcp/acme/tools", {})).status_code == 405


# --- the error mapping -------------------------------------------------------------------------


async def test_an_unknown_tool_is_404_and_bad_arguments_422(world, bridge):
    client = Api(bearer(world.acme_token))
    unknown = await client.post("/mcp/acme/tool/launch_rocket", {})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_tool")
    invalid = await client.post("/mcp/acme/tool/get_contact", {"contactId": 7, "x": 1})
    assert invalid.status_code == 422
    assert invalid.json()["code"] == "invalid_arguments"
    assert invalid.json()["errors"]
    assert bridge.requests(path="/contacts/7") == []


async def test_arguments_nested_hundreds_deep_are_422_and_never_reach_ghl(world, bridge):
    deep: object = "bottom"
    for _ in range(300):
        deep = {"more": [deep]}
    client = Api(bearer(world.acme_token))
    sent_to_ghl = len(bridge.requests())
    response = await client.post("/mcp/acme/tool/search_contacts", {"query": deep})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_arguments")
    assert "nested deeper than" in response.json()["errors"][0]
    assert len(bridge.requests()) == sent_to_ghl


async def test_a_tool_reported_failure_is_200_with_is_error(world):
    client = Api(bearer(world.acme_token))
    response = await client.post("/mcp/acme/tool/get_contact", {"contactId": "nope"})
    assert response.status_code == 200
    assert response.json()["isError"] is True
    assert response.json()["tool"] == "get_contact"


async def test_ghl_failing_is_still_a_tool_result_not_a_transport_error(world, bridge):
    bridge.fail("/contacts/search", status=500, method="POST")
    client = Api(bearer(world.acme_token))
    response = await client.post("/mcp/acme/tool/search_contacts", {})
    assert (response.status_code, response.json()["isError"]) == (200, True)


async def test_a_disabled_tenant_is_409_tenant_unavailable(world):
    await sync_to_async(tenant_disable)(tenant=world.acme)
    client = Api(bearer(world.acme_token))
    response = await client.post("/mcp/acme/tool/get_location", {})
    assert (response.status_code, response.json()["code"]) == (409, "tenant_unavailable")


async def test_a_crashing_child_is_502(test_server):
    client = Api(bearer(test_server.acme_token))
    response = await client.post("/mcp/acme/tool/crash", {})
    assert (response.status_code, response.json()["code"]) == (502, "child_crashed")


async def test_a_call_over_the_time_limit_is_504(test_server, settings):
    settings.MCP_CALL_TIMEOUT = 0.3
    client = Api(bearer(test_server.acme_token))
    response = await client.post("/mcp/acme/tool/sleep", {"seconds": 3})
    assert (response.status_code, response.json()["code"]) == (504, "call_timeout")


async def test_no_room_for_another_child_is_503_at_capacity(test_server, settings):
    settings.MCP_MAX_CHILDREN = 1
    acme = Api(bearer(test_server.acme_token))
    busy = asyncio.create_task(acme.post("/mcp/acme/tool/sleep", {"seconds": 1}))
    assert await wait_until(lambda: refcount(test_server.acme) == 1)
    globex = Api(bearer(test_server.globex_token))
    response = await globex.post("/mcp/globex/tool/echo", {"text": "hi"})
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "at_capacity"
    assert (await busy).status_code == 200


# --- the tenant's budget -------------------------------------------------------------------------


async def test_every_answer_to_a_tenants_caller_carries_the_rate_headers(
    world, settings, ratelimit_clock
):
    settings.TENANT_RATE_LIMIT = "10/m"
    client = Api(bearer(world.acme_token))
    listing = await client.get("/mcp/acme/tools")
    called = await client.post("/mcp/acme/tool/get_location", {})
    unknown = await client.post("/mcp/acme/tool/launch_rocket", {})
    for response in (listing, called, unknown):
        assert all(name in response for name in RATE_HEADERS), response.headers
        assert response["RateLimit-Limit"] == response["X-RateLimit-Limit"] == "10"
    assert listing["RateLimit-Remaining"] == "10"
    assert called["RateLimit-Remaining"] == "9"
    assert unknown["RateLimit-Remaining"] == "8"


async def test_the_61st_call_in_a_minute_is_429_and_the_budget_comes_back(world, ratelimit_clock):
    clock = ratelimit_clock
    client = Api(bearer(world.acme_token))
    answers = [await client.post("/mcp/acme/tool/get_location", {}) for _ in range(60)]
    assert [r.status_code for r in answers] == [200] * 60
    assert [int(r["RateLimit-Remaining"]) for r in answers] == list(range(59, -1, -1))
    refused = sample("mcp_rate_limit_refusals_total")
    limited = await client.post("/mcp/acme/tool/get_location", {})
    assert limited.status_code == 429
    assert sample("mcp_rate_limit_refusals_total") - refused == 1
    assert limited.json()["code"] == "rate_limited"
    retry_after = int(limited["Retry-After"])
    assert 1 <= retry_after <= 60
    assert limited.json()["retry_after"] == retry_after
    assert limited["RateLimit-Limit"] == limited["X-RateLimit-Limit"] == "60"
    assert limited["RateLimit-Remaining"] == limited["X-RateLimit-Remaining"] == "0"
    assert limited["RateLimit-Reset"] == limited["X-RateLimit-Reset"] == str(retry_after)
    clock.now += retry_after - 1
    assert (await client.post("/mcp/acme/tool/get_location", {})).status_code == 429
    clock.now += 1
    again = await client.post("/mcp/acme/tool/get_location", {})
    assert again.status_code == 200
    assert again["RateLimit-Remaining"] == "59"


async def test_a_spent_budget_still_lists_the_tools_without_a_retry_after(
    world, settings, ratelimit_clock
):
    settings.TENANT_RATE_LIMIT = "1/m"
    client = Api(bearer(world.acme_token))
    assert (await client.post("/mcp/acme/tool/get_location", {})).status_code == 200
    assert (await client.post("/mcp/acme/tool/get_location", {})).status_code == 429
    listing = await client.get("/mcp/acme/tools")
    assert listing.status_code == 200
    assert listing["RateLimit-Remaining"] == "0"
    assert "Retry-After" not in listing


async def test_a_declared_content_length_over_the_limit_is_413_unread(world):
    client = Api(bearer(world.acme_token))
    response = await client.post("/mcp/acme/tool/get_location", "{}", {"Content-Length": "999999"})
    assert (response.status_code, response.json()["code"]) == (413, "too_large")


async def test_a_body_over_djangos_own_limit_is_413_too(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"query": "' + "a" * 5000 + '"}'
    client = Api(bearer(world.acme_token))
    response = await client.post(
        "/mcp/acme/tool/search_contacts", body, {"Content-Length": str(len(body))}
    )
    assert (response.status_code, response.json()["code"]) == (413, "too_large")


async def test_a_user_of_no_tenant_finds_none(world, user_factory):
    loner = await sync_to_async(user_factory)("lonely")
    response = await Api(user=loner).get("/tools")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


async def test_a_cache_outage_lets_calls_through_without_rate_headers(world, settings, closed_port):
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    settings.RATELIMIT_USE_CACHE = "down"
    client = Api(bearer(world.acme_token))
    response = await client.post("/mcp/acme/tool/get_location", {})
    assert result_json(response)["location"]["id"] == DENTAL
    assert "RateLimit-Remaining" not in response


async def test_the_tenants_token_in_a_tool_result_never_reaches_the_caller(test_server, sockets):
    token = (await sync_to_async(get_tenant_secrets)(test_server.acme)).access_token
    response = await Api(bearer(test_server.acme_token)).post("/mcp/acme/tool/leak_token", {})
    assert response.status_code == 200, response.content
    assert token not in response.content.decode()
    assert "Bearer [redacted]" in response.content.decode()

    socket = await sockets("acme", user=test_server.member)
    await socket.open()
    await socket.send({"type": "tools.call", "id": "t", "name": "leak_token"})
    events = [await socket.event()]
    while events[-1]["type"] not in ("tool.result", "tool.error"):
        events.append(await socket.event())
    assert events[-1]["type"] == "tool.result"
    assert [e["message"] for e in events if e["type"] == "tool.progress"] == ["using [redacted]"]
    assert token not in json.dumps(events)
    await socket.close()
