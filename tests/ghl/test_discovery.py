from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError

from mcpbridge.ghl.catalogue import Catalogue
from mcpbridge.sandbox import DENTAL, Sandbox
from tests.ghl.conftest import inproc_child, result_json, result_text


async def test_search_then_describe_then_call_reaches_any_operation(
    ghl_sandbox: Sandbox, catalogue: Catalogue
) -> None:
    async with inproc_child(ghl_sandbox) as client:
        found = result_json(
            await client.call_tool(
                "search_operations", {"query": "custom values", "group": "locations"}
            )
        )
        described = result_json(
            await client.call_tool(
                "describe_operation", {"operationId": "locations.get_custom_values"}
            )
        )
        called = result_json(
            await client.call_tool("call_operation", {"operationId": "locations.get_custom_values"})
        )
    assert "locations.get_custom_values" in [op["id"] for op in found["operations"]]
    assert described["method"] == "GET"
    assert described["path"] == "/locations/{locationId}/customValues"
    assert described["input_schema"] == catalogue.get("locations.get_custom_values").input_schema
    assert "locationId" not in described["input_schema"]["properties"]
    assert called["customValues"][0]["locationId"] == DENTAL


async def test_discovery_reports_unknown_ids_and_groups(ghl_sandbox: Sandbox) -> None:
    async with inproc_child(ghl_sandbox) as client:
        unknown_op = await client.call_tool(
            "call_operation", {"operationId": "contacts.fly_to_the_moon"}
        )
        unknown_group = await client.call_tool("search_operations", {"group": "spaceships"})
        nothing = result_json(await client.call_tool("search_operations", {"query": "qqqq"}))
    assert unknown_op.is_error
    assert "unknown operation 'contacts.fly_to_the_moon'" in result_text(unknown_op)
    assert unknown_group.is_error
    assert nothing["count"] == 0
    assert "hint" in nothing
    assert not ghl_sandbox.requests()


async def test_an_unknown_tool_is_a_protocol_error_not_a_crash(ghl_sandbox: Sandbox) -> None:
    async with inproc_child(ghl_sandbox) as client:
        with pytest.raises(MCPError, match="Unknown tool: no_such_tool"):
            await client.call_tool("no_such_tool", {})
        still_alive = await client.call_tool("get_location", {})
    assert not still_alive.is_error
