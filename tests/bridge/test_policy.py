"""The risk of every tool, from its MCP annotations, and what a token's scopes allow."""

from __future__ import annotations

import mcp_types as types
import pytest

from mcpbridge.ghl.catalogue import catalogue_load
from mcpbridge.ghl.tools import toolset_build
from mcpbridge.policy import (
    RISK_META_KEY,
    InsufficientScopeError,
    call_risk,
    call_summary,
    scope_check,
    tool_risk,
)

# The core tools of the GHL server as a person would class them: what each can do to the
# sub-account and its customers.
CORE_RISKS = {
    "search_contacts": "read",
    "get_contact": "read",
    "create_contact": "write",
    "update_contact": "destructive",
    "upsert_contact": "destructive",
    "delete_contact": "destructive",
    "add_contact_tags": "write",
    "remove_contact_tags": "destructive",
    "list_contact_notes": "read",
    "add_contact_note": "write",
    "list_contact_tasks": "read",
    "create_contact_task": "write",
    "complete_contact_task": "destructive",
    "list_contact_appointments": "read",
    "search_conversations": "read",
    "get_conversation_messages": "read",
    "send_sms": "outbound",
    "send_email": "outbound",
    "list_calendars": "read",
    "get_free_slots": "read",
    "book_appointment": "write",
    "reschedule_appointment": "destructive",
    "cancel_appointment": "destructive",
    "list_appointments": "read",
    "get_appointment": "read",
    "search_opportunities": "read",
    "get_opportunity": "read",
    "create_opportunity": "write",
    "update_opportunity": "destructive",
    "set_opportunity_status": "destructive",
    "delete_opportunity": "destructive",
    "list_pipelines": "read",
    "list_users": "read",
    "get_user": "read",
    "get_location": "read",
    "list_location_tags": "read",
    "list_custom_fields": "read",
    "list_custom_values": "read",
    "update_custom_value": "destructive",
    "list_workflows": "read",
    "add_contact_to_workflow": "outbound",
    "remove_contact_from_workflow": "destructive",
    "list_campaigns": "read",
    "add_contact_to_campaign": "outbound",
    "list_invoices": "read",
    "get_invoice": "read",
    "send_invoice": "outbound",
    "list_products": "read",
    "get_product": "read",
    "search_operations": "read",
    "describe_operation": "read",
    "call_operation": "outbound",
}

# A sample of the full catalogue, by operation id.
OPERATION_RISKS = {
    "contacts.get_contact": "read",
    "contacts.search_contacts_advanced": "read",
    "contacts.delete_contact": "destructive",
    "conversations.send_a_new_message": "outbound",
    "invoices.send_invoice": "outbound",
    "invoices.void_invoice": "destructive",
    "calendars.get_calendars": "read",
    "opportunities.create_opportunity": "write",
    "opportunities.delete_opportunity": "destructive",
}


@pytest.fixture(scope="module")
def catalogue():
    return catalogue_load()


def test_every_core_tool_has_the_risk_a_person_would_give_it(catalogue):
    tools = toolset_build("core", catalogue)
    assert {name: tool_risk(entry.tool) for name, entry in tools.items()} == CORE_RISKS


@pytest.mark.parametrize(("operation_id", "risk"), sorted(OPERATION_RISKS.items()))
def test_call_operation_takes_the_risk_of_the_operation_it_runs(catalogue, operation_id, risk):
    call_operation = toolset_build("core", catalogue)["call_operation"].tool
    assert call_risk(call_operation, {"operationId": operation_id, "arguments": {}}) == risk


def test_an_unknown_operation_counts_as_the_most_call_operation_can_do(catalogue):
    call_operation = toolset_build("core", catalogue)["call_operation"].tool
    assert call_risk(call_operation, {"operationId": "nothing.like_this"}) == "outbound"
    assert call_risk(call_operation, {}) == "outbound"


def tool(annotations=None, meta=None):
    return types.Tool(
        name="t", input_schema={"type": "object"}, annotations=annotations, _meta=meta
    )


@pytest.mark.parametrize(
    ("annotations", "meta", "risk"),
    [
        (None, None, "destructive"),
        (types.ToolAnnotations(), None, "destructive"),
        (types.ToolAnnotations(read_only_hint=True), None, "read"),
        (types.ToolAnnotations(read_only_hint=False, destructive_hint=False), None, "write"),
        (types.ToolAnnotations(destructive_hint=True), None, "destructive"),
        (types.ToolAnnotations(destructive_hint=False), {RISK_META_KEY: "outbound"}, "outbound"),
        (types.ToolAnnotations(read_only_hint=True), {RISK_META_KEY: "nonsense"}, "read"),
    ],
)
def test_a_tool_that_says_nothing_is_treated_as_destructive(annotations, meta, risk):
    assert tool_risk(tool(annotations, meta)) == risk


def test_a_token_calls_only_within_its_scopes():
    scope_check(risk="read", scopes=frozenset({"read"}))
    with pytest.raises(InsufficientScopeError) as caught:
        scope_check(risk="write", scopes=frozenset({"read"}))
    assert caught.value.code == "insufficient_scope"
    assert "read" in caught.value.message


def test_the_summary_names_the_action_and_the_record():
    assert call_summary("delete_contact", {"contactId": "ct_1"}, record="Bob Lee") == (
        "Delete contact Bob Lee (ct_1)"
    )
    assert call_summary("delete_contact", {"contactId": "ct_1"}) == "Delete contact ct_1"
    assert call_summary("send_sms", {"to": "+15550100"}) == "Send sms to +15550100"
    assert call_summary(
        "call_operation",
        {"operationId": "invoices.void_invoice", "arguments": {"invoiceId": "inv_9"}},
    ) == ("Void invoice inv_9")
