"""The server as the bridge runs it: a real subprocess spoken to over stdio with the mcp client."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mcp.shared.exceptions import MCPError

from mcpbridge.ghl.catalogue import Catalogue
from mcpbridge.ghl.core import core_tools
from mcpbridge.sandbox import DENTAL, ROOFING, Sandbox
from tests.conftest import REPO_ROOT
from tests.ghl.conftest import all_tools, child_env, result_json, result_text, stdio_child

DISCOVERY = {"search_operations", "describe_operation", "call_operation"}


async def test_it_lists_the_core_and_discovery_tools(ghl_sandbox: Sandbox) -> None:
    async with stdio_child(child_env(ghl_sandbox)) as client:
        tools = (await client.list_tools()).tools
    names = [tool.name for tool in tools]
    assert set(names) == {tool.name for tool in core_tools()} | DISCOVERY
    assert 40 <= len(names) - len(DISCOVERY) <= 60
    for tool in tools:
        assert tool.description
        assert tool.input_schema["type"] == "object"
        assert "locationId" not in tool.input_schema.get("properties", {})
    assert not ghl_sandbox.requests(), "listing tools costs no GHL call"


async def test_core_tools_work_end_to_end(ghl_sandbox: Sandbox) -> None:
    async with stdio_child(child_env(ghl_sandbox)) as client:
        found = result_json(await client.call_tool("search_contacts", {"query": "carla"}))
        contact_id = found["contacts"][0]["id"]
        await client.call_tool("add_contact_tags", {"contactId": contact_id, "tags": ["hot"]})
        await client.call_tool("send_sms", {"contactId": contact_id, "message": "Hi Carla"})
        slots = result_json(
            await client.call_tool(
                "get_free_slots",
                {
                    "calendarId": "cal_dental_cleaning",
                    "startDate": "2030-03-05",
                    "endDate": "2030-03-05",
                },
            )
        )
        first = slots["2030-03-05"]["slots"][0]
        booked = result_json(
            await client.call_tool(
                "book_appointment",
                {"calendarId": "cal_dental_cleaning", "contactId": contact_id, "startTime": first},
            )
        )
        after = result_json(
            await client.call_tool(
                "get_free_slots",
                {
                    "calendarId": "cal_dental_cleaning",
                    "startDate": "2030-03-05",
                    "endDate": "2030-03-05",
                },
            )
        )
        opportunity = result_json(
            await client.call_tool(
                "create_opportunity",
                {
                    "name": "Braces",
                    "pipelineId": "pl_dental",
                    "contactId": contact_id,
                    "monetaryValue": 4200,
                },
            )
        )
        await client.call_tool(
            "set_opportunity_status",
            {"opportunityId": opportunity["opportunity"]["id"], "status": "won"},
        )
    assert "hot" in ghl_sandbox.data["contacts"][contact_id]["tags"]
    assert [
        m["body"] for m in ghl_sandbox.data["messages"].values() if m["contactId"] == contact_id
    ] == ["Hi Carla"]
    assert ghl_sandbox.data["appointments"][booked["id"]]["contactId"] == contact_id
    assert first not in after["2030-03-05"]["slots"]
    assert ghl_sandbox.data["opportunities"][opportunity["opportunity"]["id"]]["status"] == "won"


async def test_ghl_errors_come_back_as_tool_errors(ghl_sandbox: Sandbox) -> None:
    env = child_env(ghl_sandbox)
    async with stdio_child(env) as client:
        missing = await client.call_tool("get_contact", {"contactId": "no_such_contact"})
        invalid = await client.call_tool(
            "call_operation",
            {
                "operationId": "opportunities.create_opportunity",
                "arguments": {
                    "body": {
                        "name": "X",
                        "pipelineId": "pl_dental",
                        "pipelineStageId": "pl_roofing_new",
                        "status": "open",
                        "contactId": "ct_dental_bob",
                    }
                },
            },
        )
        ghl_sandbox.fail(
            "/contacts/ct_dental_bob", status=429, times=2, headers={"Retry-After": "0.2"}
        )
        limited = await client.call_tool("get_contact", {"contactId": "ct_dental_bob"})
    async with stdio_child({**env, "GHL_ACCESS_TOKEN": "not-a-real-token-abcdef"}) as client:
        refused = await client.call_tool("get_contact", {"contactId": "ct_dental_bob"})
    assert missing.is_error
    assert "404" in result_text(missing)
    assert "Contact not found" in result_text(missing)
    assert invalid.is_error
    assert "422" in result_text(invalid)
    assert "pipelineStageId" in result_text(invalid)
    assert result_json(limited)["contact"]["id"] == "ct_dental_bob"
    assert [r.status for r in ghl_sandbox.requests("/contacts/ct_dental_bob")] == [
        429,
        429,
        200,
        401,
    ]
    assert refused.is_error
    assert "401" in result_text(refused)
    assert "not-a-real-token-abcdef" not in result_text(refused)
    assert not ghl_sandbox.token_requests, "the child never refreshes tokens"


async def test_bad_arguments_are_refused_before_any_call(ghl_sandbox: Sandbox) -> None:
    async with stdio_child(child_env(ghl_sandbox)) as client:
        missing = await client.call_tool("get_contact", {})
        wrong_type = await client.call_tool(
            "add_contact_tags", {"contactId": "ct_dental_bob", "tags": "vip"}
        )
        unknown = await client.call_tool(
            "create_contact", {"email": "a@example.com", "favouriteColour": "blue"}
        )
        by_id = await client.call_tool(
            "call_operation",
            {
                "operationId": "contacts.create_task",
                "arguments": {"contactId": "ct_dental_bob", "body": {"title": 7}},
            },
        )
    assert "'contactId' is a required property" in result_text(missing)
    assert "tags" in result_text(wrong_type)
    assert "favouriteColour" in result_text(unknown)
    assert "body.title: 7 is not of type 'string'" in result_text(by_id)
    assert all(r.is_error for r in (missing, wrong_type, unknown, by_id))
    assert not ghl_sandbox.requests()


async def test_location_cannot_be_overridden(ghl_sandbox: Sandbox) -> None:
    async with stdio_child(child_env(ghl_sandbox)) as client:
        in_query = await client.call_tool(
            "call_operation",
            {"operationId": "opportunities.get_pipelines", "arguments": {"locationId": ROOFING}},
        )
        in_path = await client.call_tool(
            "call_operation",
            {"operationId": "locations.get_location", "arguments": {"locationId": ROOFING}},
        )
        in_body = await client.call_tool(
            "call_operation",
            {
                "operationId": "contacts.create_contact",
                "arguments": {"body": {"email": "x@example.com", "locationId": ROOFING}},
            },
        )
        nested = await client.call_tool(
            "call_operation",
            {
                "operationId": "contacts.search_contacts_advanced",
                "arguments": {"body": {"filters": [{"locationId": ROOFING}]}},
            },
        )
        own = await client.call_tool(
            "call_operation",
            {"operationId": "locations.get_location", "arguments": {"locationId": DENTAL}},
        )
    for refused in (in_query, in_path, in_body, nested):
        assert refused.is_error
        assert "cannot point at another location" in result_text(refused)
    assert result_json(own)["location"]["id"] == DENTAL
    assert [r.path for r in ghl_sandbox.requests()] == [f"/locations/{DENTAL}"]


async def test_full_toolset_lists_the_whole_catalogue(
    ghl_sandbox: Sandbox, catalogue: Catalogue
) -> None:
    async with stdio_child(child_env(ghl_sandbox, GHL_TOOLSET="full")) as client:
        first = await client.list_tools()
        tools = await all_tools(client)
        location = await client.call_tool("locations_get_location", {})
        with pytest.raises(MCPError, match="Invalid cursor"):
            await client.list_tools(cursor="bm90LWEtY3Vyc29y")
    assert len(first.tools) == 100
    assert first.next_cursor
    core = {tool.name for tool in core_tools()} | DISCOVERY
    assert len(tools) == len(catalogue) + len(core)
    assert {tool.name for tool in tools} == {op.tool_name for op in catalogue} | core
    assert result_json(location)["location"]["id"] == DENTAL


async def test_the_toolset_can_be_chosen_on_the_command_line(
    ghl_sandbox: Sandbox, catalogue: Catalogue
) -> None:
    # The bridge passes children nothing but credentials in the environment.
    async with stdio_child(child_env(ghl_sandbox), args=("--toolset", "full")) as client:
        tools = await all_tools(client)
    assert len(tools) == len(catalogue) + len(core_tools()) + len(DISCOVERY)


async def test_a_list_of_groups_lists_those_groups(
    ghl_sandbox: Sandbox, catalogue: Catalogue
) -> None:
    async with stdio_child(
        child_env(ghl_sandbox, GHL_TOOLSET="calendars, custom-fields")
    ) as client:
        tools = await all_tools(client)
    assert len(tools) == len(catalogue.in_group("calendars")) + len(
        catalogue.in_group("custom_fields")
    )


async def test_logs_go_to_stderr_without_the_token(ghl_sandbox: Sandbox, tmp_path) -> None:
    env = child_env(ghl_sandbox, GHL_LOG_LEVEL="DEBUG")
    log_path = tmp_path / "stderr.log"
    with log_path.open("w") as errlog:
        async with stdio_child(env, errlog=errlog) as client:
            await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
            await client.call_tool("get_contact", {"contactId": "missing"})
    logs = log_path.read_text()
    assert "GET /contacts/{contactId} -> 200" in logs
    assert "GET /contacts/{contactId} -> 404" in logs
    assert env["GHL_ACCESS_TOKEN"] not in logs
    assert env["GHL_ACCESS_TOKEN"].split(".")[2] not in logs


async def test_the_child_stays_under_its_request_budget(ghl_sandbox: Sandbox) -> None:
    env = child_env(ghl_sandbox, GHL_RATE_LIMIT="4", GHL_RATE_WINDOW="1")
    async with stdio_child(env) as client:
        for _ in range(10):
            await client.call_tool("get_location", {})
    stamps = [r.at for r in ghl_sandbox.requests()]
    assert len(stamps) == 10
    # Any five consecutive requests must span a window (less scheduling jitter);
    # unthrottled, ten calls arrive within a few tens of milliseconds.
    assert min(stamps[i + 4] - stamps[i] for i in range(len(stamps) - 4)) >= 0.8


def run_child(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mcpbridge.ghl"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_exits_with_a_clear_message_without_token_or_location() -> None:
    no_token = run_child({"GHL_LOCATION_ID": DENTAL})
    no_location = run_child({"GHL_API_KEY": "abc123456"})
    assert no_token.returncode == 2
    assert "GHL_ACCESS_TOKEN (or GHL_API_KEY)" in no_token.stderr
    assert no_location.returncode == 2
    assert "GHL_LOCATION_ID" in no_location.stderr
    assert no_token.stdout == no_location.stdout == ""


def test_it_exits_on_an_unknown_group() -> None:
    result = run_child(
        {
            "GHL_ACCESS_TOKEN": "abc123456",
            "GHL_LOCATION_ID": DENTAL,
            "GHL_TOOLSET": "contacts,nonsense",
        }
    )
    assert result.returncode == 2
    assert "unknown group 'nonsense'" in result.stderr
    assert "abc123456" not in result.stderr


def test_it_exits_on_a_bad_log_level() -> None:
    result = run_child(
        {"GHL_ACCESS_TOKEN": "abc123456", "GHL_LOCATION_ID": DENTAL, "GHL_LOG_LEVEL": "LOUD"}
    )
    assert result.returncode == 2
    assert "GHL_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in result.stderr
    assert result.stdout == ""


def test_it_exits_on_a_group_a_sub_account_cannot_use() -> None:
    result = run_child(
        {"GHL_ACCESS_TOKEN": "abc123456", "GHL_LOCATION_ID": DENTAL, "GHL_TOOLSET": "saas-api"}
    )
    assert result.returncode == 2
    assert "'saas_api' has no operations a sub-account may call" in result.stderr


def test_stdout_carries_json_rpc_and_nothing_else(ghl_sandbox: Sandbox) -> None:
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "get_contact", "arguments": {"contactId": "ct_dental_alice"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "get_contact", "arguments": {"contactId": "missing"}},
        },
    ]
    stdin = "".join(json.dumps(message) + "\n" for message in messages)
    process = subprocess.Popen(
        [sys.executable, "-m", "mcpbridge.ghl"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", **child_env(ghl_sandbox)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdin.write(stdin)
    process.stdin.flush()
    lines = [process.stdout.readline() for _ in range(3)]
    stdout, stderr = process.communicate(timeout=30)
    replies = [json.loads(line) for line in [*lines, *stdout.splitlines()] if line.strip()]
    # The two calls run concurrently, so their answers may come in either order.
    by_id = {reply["id"]: reply for reply in replies}
    assert sorted(reply["id"] for reply in replies) == [1, 2, 3]
    assert all(reply["jsonrpc"] == "2.0" for reply in replies)
    assert by_id[2]["result"]["isError"] is False
    assert by_id[3]["result"]["isError"] is True
    assert process.returncode == 0
    assert "GET /contacts/{contactId} -> 200" in stderr
