"""Which tools the model is offered when the tenant's toolset is larger than its limit."""

from __future__ import annotations

import mcp.types as types

from mcpbridge.chat.agent.tool_choice import tools_offered
from mcpbridge.chat.agent.toolbox import toolbox_build
from mcpbridge.ghl.catalogue import catalogue_load
from mcpbridge.ghl.tools import toolset_build

FULL = [entry.tool for entry in toolset_build("full", catalogue_load()).values()]
PINNED = [entry.tool.name for entry in toolset_build("core", catalogue_load()).values()]


def names(tools: list[types.Tool]) -> list[str]:
    return [tool.name for tool in tools]


def test_core_and_discovery_tools_come_first_and_always() -> None:
    offered = names(tools_offered(FULL, limit=64, query="list the blog posts"))
    assert len(offered) == 64
    assert offered[: len(PINNED)] == PINNED
    assert "blogs_get_blog_post" in offered[len(PINNED) :][:3]


def test_the_rest_is_chosen_for_the_request_not_by_name() -> None:
    for request, wanted in [
        ("create a 20% off coupon for the spring sale", "payments_create_coupon"),
        ("how much stock is left of the blue mug", "products_get_list_inventory"),
        ("schedule a facebook post for Monday", "social_media_posting_create_post"),
    ]:
        offered = names(tools_offered(FULL, limit=64, query=request))
        assert wanted in offered, request
    alphabetical = sorted(name for name in names(FULL) if name not in PINNED)[:12]
    chosen = names(tools_offered(FULL, limit=64, query="void the invoice"))[len(PINNED) :]
    assert chosen != alphabetical
    assert chosen[0] == "invoices_void_invoice"


def test_earlier_requests_help_when_the_latest_says_little() -> None:
    offered = names(
        tools_offered(FULL, limit=60, query="yes, do it", context="void the invoice INV-12")
    )
    assert "invoices_void_invoice" in offered


def test_a_small_limit_keeps_only_pinned_tools_in_their_order() -> None:
    assert names(tools_offered(FULL, limit=10, query="void the invoice")) == PINNED[:10]


def test_a_server_without_tiers_is_ranked_whole() -> None:
    foreign = [
        types.Tool(name=f"tool_{n}", description=f"Does thing {n}", input_schema={})
        for n in range(100)
    ]
    foreign.append(
        types.Tool(name="weather_lookup", description="Forecast for a city", input_schema={})
    )
    offered = names(tools_offered(foreign, limit=5, query="what's the forecast in Paris"))
    assert offered[0] == "weather_lookup"
    assert len(offered) == 5


def test_a_toolset_within_the_limit_is_offered_whole() -> None:
    core = [entry.tool for entry in toolset_build("core", catalogue_load()).values()]
    assert len(toolbox_build(core, limit=64, query="anything").functions) == len(core)
    assert len(toolbox_build(FULL, limit=200, query="").functions) == 128
