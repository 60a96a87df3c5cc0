from __future__ import annotations

import mcp.types as types
import pytest

from mcpbridge.ghl.catalogue import Catalogue
from mcpbridge.ghl.risk import RISK_FROM_META_KEY, RISK_META_KEY, RISKS
from mcpbridge.ghl.tools import toolset_build


def tools_of(catalogue: Catalogue, toolset: str) -> dict[str, types.Tool]:
    return {name: entry.tool for name, entry in toolset_build(toolset, catalogue).items()}


def test_every_tool_says_what_it_can_do_and_the_hints_agree(catalogue: Catalogue) -> None:
    tools = {**tools_of(catalogue, "full"), **tools_of(catalogue, "core")}
    assert len(tools) == len(catalogue) + 52
    for name, tool in tools.items():
        hints, risk = tool.annotations, (tool.meta or {}).get(RISK_META_KEY)
        assert risk in RISKS, name
        assert None not in (hints.read_only_hint, hints.destructive_hint, hints.open_world_hint)
        assert hints.read_only_hint is (risk == "read"), name
        assert hints.open_world_hint is (risk == "outbound"), name
        if hints.destructive_hint:
            assert risk in ("destructive", "outbound"), name


def test_the_catalogue_risks_follow_method_and_verb(catalogue: Catalogue) -> None:
    tools = tools_of(catalogue, "full")
    for op in catalogue:
        tool = tools[op.tool_name]
        risk = tool.meta[RISK_META_KEY]
        verb = op.id.split(".", 1)[1]
        if "send" in verb.split("_"):
            assert risk == "outbound", op.id
        elif op.method == "GET":
            assert risk == "read", op.id
        elif op.method == "DELETE":
            assert risk == "destructive", op.id
            assert tool.annotations.destructive_hint, op.id
        elif op.path.endswith(("/search", "/list")):
            assert risk == "read", op.id
        elif verb.startswith(("cancel", "void", "update", "upsert")):
            assert tool.annotations.destructive_hint, op.id
        elif verb.startswith("create") and op.id != "social_media_posting.create_post":
            assert risk == "write", op.id
    counts = {risk: 0 for risk in RISKS}
    for tool in tools.values():
        counts[tool.meta[RISK_META_KEY]] += 1
    assert all(counts.values()), counts


@pytest.mark.parametrize(
    ("name", "risk"),
    [
        ("search_contacts", "read"),
        ("search_opportunities", "read"),
        ("list_invoices", "read"),
        ("search_operations", "read"),
        ("describe_operation", "read"),
        ("create_contact", "write"),
        ("add_contact_tags", "write"),
        ("add_contact_note", "write"),
        ("book_appointment", "write"),
        ("update_contact", "destructive"),
        ("upsert_contact", "destructive"),
        ("reschedule_appointment", "destructive"),
        ("cancel_appointment", "destructive"),
        ("remove_contact_tags", "destructive"),
        ("delete_contact", "destructive"),
        ("delete_opportunity", "destructive"),
        ("send_sms", "outbound"),
        ("send_email", "outbound"),
        ("send_invoice", "outbound"),
        ("add_contact_to_workflow", "outbound"),
        ("add_contact_to_campaign", "outbound"),
        ("call_operation", "outbound"),
    ],
)
def test_core_and_discovery_tools_carry_their_risk(
    catalogue: Catalogue, name: str, risk: str
) -> None:
    assert tools_of(catalogue, "core")[name].meta[RISK_META_KEY] == risk


def test_post_searches_are_read_only(catalogue: Catalogue) -> None:
    tools = tools_of(catalogue, "full")
    for name in (
        "contacts_search_contacts_advanced",
        "opportunities_search_opportunities_advanced",
        "objects_search_object_records",
        "social_media_posting_get_posts",
        "ad_manager_google_get_keyword_ideas",
    ):
        assert tools[name].annotations.read_only_hint is True, name


def test_call_operation_points_at_the_operations_own_risk(catalogue: Catalogue) -> None:
    tool = tools_of(catalogue, "core")["call_operation"]
    assert tool.meta[RISK_FROM_META_KEY] == "operationId"
    assert tool.annotations.destructive_hint is True
