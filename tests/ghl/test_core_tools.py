"""Every core tool against the sandbox, in process (the stdio tests cover the transport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mcpbridge.ghl.catalogue import catalogue_load
from mcpbridge.ghl.core import core_tools
from mcpbridge.ghl.tools import toolset_build
from mcpbridge.sandbox import ANA, DENTAL, ROOFING, Sandbox
from tests.ghl.conftest import inproc_child, result_json, result_text

MONDAY = "2030-03-04"
Check = Callable[[Any, Sandbox], None]


def seed_task(sandbox: Sandbox) -> None:
    sandbox.data["tasks"]["tk_seed"] = {
        "id": "tk_seed",
        "contactId": "ct_dental_alice",
        "title": "Call back",
        "completed": False,
    }


def seed_appointment(sandbox: Sandbox) -> None:
    sandbox.data["appointments"]["ap_seed"] = {
        "id": "ap_seed",
        "calendarId": "cal_dental_cleaning",
        "locationId": DENTAL,
        "contactId": "ct_dental_alice",
        "groupId": f"grp_{DENTAL}",
        "appointmentStatus": "confirmed",
        "assignedUserId": ANA,
        "startTime": f"{MONDAY}T10:00:00-05:00",
        "endTime": f"{MONDAY}T10:30:00-05:00",
    }


CASES: list[tuple[str, dict[str, Any], Check, Callable[[Sandbox], None] | None]] = [
    (
        "search_contacts",
        {"query": "alice"},
        lambda r, s: r["contacts"][0]["id"] == "ct_dental_alice" and r["total"] == 1,
        None,
    ),
    (
        "get_contact",
        {"contactId": "ct_dental_bob"},
        lambda r, s: r["contact"]["email"] == "bob@example.com",
        None,
    ),
    (
        "create_contact",
        {"firstName": "Zoe", "email": "zoe@example.com", "tags": ["new"]},
        lambda r, s: s.data["contacts"][r["contact"]["id"]]["locationId"] == DENTAL,
        None,
    ),
    (
        "update_contact",
        {"contactId": "ct_dental_bob", "city": "Boston"},
        lambda r, s: s.data["contacts"]["ct_dental_bob"]["city"] == "Boston",
        None,
    ),
    (
        "upsert_contact",
        {"email": "bob@example.com", "lastName": "Marsh"},
        lambda r, s: (
            r["new"] is False and s.data["contacts"]["ct_dental_bob"]["lastName"] == "Marsh"
        ),
        None,
    ),
    (
        "delete_contact",
        {"contactId": "ct_dental_dev"},
        lambda r, s: "ct_dental_dev" not in s.data["contacts"],
        None,
    ),
    (
        "add_contact_tags",
        {"contactId": "ct_dental_bob", "tags": ["recall"]},
        lambda r, s: "recall" in s.data["contacts"]["ct_dental_bob"]["tags"],
        None,
    ),
    (
        "remove_contact_tags",
        {"contactId": "ct_dental_alice", "tags": ["vip"]},
        lambda r, s: s.data["contacts"]["ct_dental_alice"]["tags"] == ["patient"],
        None,
    ),
    (
        "add_contact_note",
        {"contactId": "ct_dental_alice", "body": "Prefers mornings"},
        lambda r, s: r["note"]["body"] == "Prefers mornings",
        None,
    ),
    ("list_contact_notes", {"contactId": "ct_dental_alice"}, lambda r, s: r["notes"] == [], None),
    (
        "create_contact_task",
        {"contactId": "ct_dental_alice", "title": "Call", "dueDate": "2030-01-01T09:00:00Z"},
        lambda r, s: r["task"]["completed"] is False,
        None,
    ),
    (
        "list_contact_tasks",
        {"contactId": "ct_dental_alice"},
        lambda r, s: r["tasks"][0]["id"] == "tk_seed",
        seed_task,
    ),
    (
        "complete_contact_task",
        {"contactId": "ct_dental_alice", "taskId": "tk_seed"},
        lambda r, s: s.data["tasks"]["tk_seed"]["completed"] is True,
        seed_task,
    ),
    (
        "list_contact_appointments",
        {"contactId": "ct_dental_alice"},
        lambda r, s: r["events"][0]["id"] == "ap_seed",
        seed_appointment,
    ),
    (
        "search_conversations",
        {"contactId": "ct_dental_alice"},
        lambda r, s: r["conversations"][0]["id"] == "cv_dental_alice",
        None,
    ),
    (
        "get_conversation_messages",
        {"conversationId": "cv_dental_alice"},
        lambda r, s: r["messages"]["messages"][0]["direction"] == "inbound",
        None,
    ),
    (
        "send_sms",
        {"contactId": "ct_dental_alice", "message": "See you Friday"},
        lambda r, s: s.data["messages"][r["messageId"]]["messageType"] == "TYPE_SMS",
        None,
    ),
    (
        "send_email",
        {"contactId": "ct_dental_bob", "subject": "Reminder", "html": "<p>Hi</p>"},
        lambda r, s: s.data["messages"][r["messageId"]]["meta"]["email"]["to"] == "bob@example.com",
        None,
    ),
    (
        "list_calendars",
        {},
        lambda r, s: [c["id"] for c in r["calendars"]] == ["cal_dental_cleaning"],
        None,
    ),
    (
        "get_free_slots",
        {"calendarId": "cal_dental_cleaning", "startDate": MONDAY, "endDate": MONDAY},
        lambda r, s: r[MONDAY]["slots"][0] == f"{MONDAY}T09:00:00-05:00",
        None,
    ),
    (
        "book_appointment",
        {
            "calendarId": "cal_dental_cleaning",
            "contactId": "ct_dental_bob",
            "startTime": f"{MONDAY}T11:00:00-05:00",
        },
        lambda r, s: s.data["appointments"][r["id"]]["endTime"] == f"{MONDAY}T11:30:00-05:00",
        None,
    ),
    (
        "reschedule_appointment",
        {"appointmentId": "ap_seed", "startTime": f"{MONDAY}T14:00:00-05:00"},
        lambda r, s: s.data["appointments"]["ap_seed"]["startTime"] == f"{MONDAY}T14:00:00-05:00",
        seed_appointment,
    ),
    (
        "cancel_appointment",
        {"appointmentId": "ap_seed"},
        lambda r, s: s.data["appointments"]["ap_seed"]["appointmentStatus"] == "cancelled",
        seed_appointment,
    ),
    (
        "list_appointments",
        {"calendarId": "cal_dental_cleaning", "startTime": MONDAY, "endTime": MONDAY},
        lambda r, s: [e["id"] for e in r["events"]] == ["ap_seed"],
        seed_appointment,
    ),
    (
        "get_appointment",
        {"appointmentId": "ap_seed"},
        lambda r, s: r["event"]["contactId"] == "ct_dental_alice",
        seed_appointment,
    ),
    (
        "search_opportunities",
        {"status": "open"},
        lambda r, s: [o["id"] for o in r["opportunities"]] == ["op_dental_implant"],
        None,
    ),
    (
        "get_opportunity",
        {"opportunityId": "op_dental_implant"},
        lambda r, s: r["opportunity"]["monetaryValue"] == 2400.0,
        None,
    ),
    (
        "create_opportunity",
        {"name": "Whitening", "pipelineId": "pl_dental", "contactId": "ct_dental_bob"},
        lambda r, s: s.data["opportunities"][r["opportunity"]["id"]]["status"] == "open",
        None,
    ),
    (
        "update_opportunity",
        {"opportunityId": "op_dental_implant", "pipelineStageId": "pl_dental_booked"},
        lambda r, s: (
            s.data["opportunities"]["op_dental_implant"]["pipelineStageId"] == "pl_dental_booked"
        ),
        None,
    ),
    (
        "set_opportunity_status",
        {"opportunityId": "op_dental_implant", "status": "won"},
        lambda r, s: s.data["opportunities"]["op_dental_implant"]["status"] == "won",
        None,
    ),
    (
        "delete_opportunity",
        {"opportunityId": "op_dental_implant"},
        lambda r, s: "op_dental_implant" not in s.data["opportunities"],
        None,
    ),
    (
        "list_pipelines",
        {},
        lambda r, s: r["pipelines"][0]["stages"][0]["name"] == "New lead",
        None,
    ),
    (
        "list_users",
        {},
        lambda r, s: {u["id"] for u in r["users"]} == {ANA, "usr_sandbox_ben"},
        None,
    ),
    (
        "get_user",
        {"userId": ANA},
        lambda r, s: r["email"] == "ana@sandbox-agency.example.com",
        None,
    ),
    ("get_location", {}, lambda r, s: r["location"]["id"] == DENTAL, None),
    (
        "list_location_tags",
        {},
        lambda r, s: {t["name"] for t in r["tags"]} == {"vip", "patient", "lead"},
        None,
    ),
    ("list_custom_fields", {"model": "contact"}, lambda r, s: len(r["customFields"]) == 2, None),
    ("list_custom_values", {}, lambda r, s: r["customValues"][0]["value"] == "Mon-Fri 9-5", None),
    (
        "update_custom_value",
        {"customValueId": "cv_dental_hours", "name": "Office hours", "value": "Mon-Sat 8-6"},
        lambda r, s: s.data["custom_values"]["cv_dental_hours"]["value"] == "Mon-Sat 8-6",
        None,
    ),
    ("list_workflows", {}, lambda r, s: len(r["workflows"]) == 2, None),
    (
        "add_contact_to_workflow",
        {"contactId": "ct_dental_bob", "workflowId": "wf_dental_welcome"},
        lambda r, s: (
            s.data["workflow_enrolments"]
            == [{"contactId": "ct_dental_bob", "workflowId": "wf_dental_welcome"}]
        ),
        None,
    ),
    (
        "remove_contact_from_workflow",
        {"contactId": "ct_dental_bob", "workflowId": "wf_dental_welcome"},
        lambda r, s: r["succeded"] is True,
        None,
    ),
    (
        "list_campaigns",
        {"status": "published"},
        lambda r, s: r["campaigns"][0]["id"] == "cp_dental_spring",
        None,
    ),
    (
        "add_contact_to_campaign",
        {"contactId": "ct_dental_bob", "campaignId": "cp_dental_spring"},
        lambda r, s: len(s.data["campaign_enrolments"]) == 1,
        None,
    ),
    (
        "list_invoices",
        {},
        lambda r, s: [i["_id"] for i in r["invoices"]] == ["inv_dental_1001"],
        None,
    ),
    ("get_invoice", {"invoiceId": "inv_dental_1001"}, lambda r, s: r["total"] == 180.0, None),
    (
        "send_invoice",
        {"invoiceId": "inv_dental_1001", "userId": ANA},
        lambda r, s: s.data["invoices"]["inv_dental_1001"]["status"] == "sent",
        None,
    ),
    (
        "list_products",
        {"search": "standard"},
        lambda r, s: r["products"][0]["_id"] == "pr_dental_service",
        None,
    ),
    (
        "get_product",
        {"productId": "pr_dental_service"},
        lambda r, s: r["locationId"] == DENTAL,
        None,
    ),
]


def test_every_core_tool_has_a_case_here() -> None:
    assert {name for name, *_ in CASES} == {tool.name for tool in core_tools()}


@pytest.mark.parametrize(("name", "arguments", "check", "setup"), CASES, ids=[c[0] for c in CASES])
async def test_core_tool_does_its_job_against_the_sandbox(
    ghl_sandbox: Sandbox,
    name: str,
    arguments: dict[str, Any],
    check: Check,
    setup: Callable[[Sandbox], None] | None,
) -> None:
    if setup is not None:
        setup(ghl_sandbox)
    async with inproc_child(ghl_sandbox) as client:
        result = await client.call_tool(name, arguments)
    assert check(result_json(result), ghl_sandbox) is True
    # The client checked the structured content against the tool's output schema.
    assert result.structured_content == result_json(result)
    seen = ghl_sandbox.requests()
    assert seen, "the tool reached GHL"
    assert all(r.location_id == DENTAL for r in seen)
    assert all(r.status < 400 for r in seen)


async def test_core_tools_send_each_operations_version_header(ghl_sandbox: Sandbox) -> None:
    async with inproc_child(ghl_sandbox) as client:
        await client.call_tool("list_calendars", {})
        await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
        await client.call_tool("search_conversations", {})
    versions = {r.path: r.version for r in ghl_sandbox.requests()}
    assert versions == {
        "/calendars/": "2021-04-15",
        "/contacts/ct_dental_alice": "2021-07-28",
        "/conversations/search": "2021-04-15",
    }


async def test_core_tools_never_reach_another_location(ghl_sandbox: Sandbox) -> None:
    async with inproc_child(ghl_sandbox) as client:
        found = result_json(await client.call_tool("search_contacts", {}))
        other = await client.call_tool("get_contact", {"contactId": "ct_roofing_erin"})
    assert {c["locationId"] for c in found["contacts"]} == {DENTAL}
    assert other.is_error
    assert "404" in result_text(other)
    assert ROOFING not in {r.location_id for r in ghl_sandbox.requests()}


def test_every_core_tool_declares_its_output_and_no_other_tool_does() -> None:
    catalogue = catalogue_load()
    core = toolset_build("core", catalogue)
    full = toolset_build("full", catalogue)
    names = {tool.name for tool in core_tools()}
    for name, entry in core.items():
        schema = entry.tool.output_schema
        assert (schema is not None) is (name in names), name
        if schema is not None:
            assert schema["type"] == "object"
            assert schema["additionalProperties"] is True
    operations = {op.tool_name for op in catalogue}
    assert all(full[name].tool.output_schema is None for name in operations)
