"""A risky tool call the model asks for waits for a person: the real ASGI application,
registry, GHL child and sandbox, with the fake model behind the agent loop."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from mcpbridge.audit import audit_drain
from mcpbridge.chat.models import Message
from tenants.models import AuditEntry, Membership, Tenant
from tests.chat.fake_model import text, tool_calls

pytestmark = pytest.mark.django_db(transaction=True)

BOB = "ct_dental_bob"


def deletes(sandbox, contact=BOB):
    return sandbox.requests(f"/contacts/{contact}", "DELETE")


def bob_exists(sandbox) -> bool:
    return BOB in sandbox.data["contacts"]


async def ask_to_delete_bob(model, sockets, user):
    model.push(tool_calls(("delete_contact", {"contactId": BOB})), text("Done as you said."))
    socket = await sockets("dental", user=user)
    await socket.open()
    await socket.send({"type": "chat.send", "conversation": None, "text": "Wipe Bob"})
    asked = await socket.until(lambda e: e["type"] == "tool.approval")
    return socket, asked


def answer(asked, decision):
    """The page's reply to a ``tool.approval``."""
    return {
        "type": "tool.approve",
        "conversation": asked["conversation"],
        "id": asked["id"],
        "decision": decision,
    }


def tool_message_sent_to_model(model):
    """The tool message of the model's second request: what the model heard of the call."""
    second = model.requests[1]["body"]["messages"]
    return next(m for m in second if m["role"] == "tool")["content"]


async def test_a_delete_waits_for_approval_and_reaches_ghl_only_after_it(
    dental, model_settings, sockets, bridge
):
    _, user = dental
    socket, asked = await ask_to_delete_bob(model_settings, sockets, user)
    assert asked["name"] == "delete_contact"
    assert asked["risk"] == "destructive"
    assert asked["arguments"] == {"contactId": BOB}
    assert asked["summary"] == f"Delete contact Bob Martinez ({BOB})"
    assert deletes(bridge) == []

    await socket.send(answer(asked, "approve"))
    decided = await socket.until(lambda e: e["type"] == "tool.approval.decided")
    assert (decided["decision"], decided["by"]) == ("approved", "dana")
    result = await socket.until(lambda e: e["type"] in ("tool.result", "tool.error"))
    assert result["type"] == "tool.result"
    assert result["isError"] is False
    await socket.until(lambda e: e["type"] == "chat.done")
    assert len(deletes(bridge)) == 1
    assert not bob_exists(bridge)

    stored = await Message.objects.aget(tool_call_id=asked["id"])
    assert stored.approval["decision"] == "approved"
    assert stored.approval["by"] == "dana"
    await audit_drain()
    entry = await AuditEntry.objects.aget(tool="delete_contact")
    assert (entry.way_in, entry.actor, entry.risk, entry.outcome) == (
        "chat",
        "dana",
        "destructive",
        "ok",
    )
    assert (entry.approval_needed, entry.approval_decision, entry.approved_by) == (
        True,
        "approved",
        "dana",
    )
    assert entry.conversation_id == asked["conversation"]


async def test_a_rejected_call_leaves_the_contact_and_the_model_hears_the_user_declined(
    dental, model_settings, sockets, bridge
):
    _, user = dental
    socket, asked = await ask_to_delete_bob(model_settings, sockets, user)
    await socket.send(answer(asked, "reject"))
    failed = await socket.until(lambda e: e["type"] == "tool.error")
    assert failed["code"] == "declined"
    await socket.until(lambda e: e["type"] == "chat.done")
    assert deletes(bridge) == []
    assert bob_exists(bridge)
    assert "declined" in tool_message_sent_to_model(model_settings)
    await audit_drain()
    entry = await AuditEntry.objects.aget(tool="delete_contact")
    assert (entry.outcome, entry.approval_decision) == ("declined", "declined")


async def test_an_unanswered_approval_is_declined_when_its_time_runs_out(
    dental, model_settings, sockets, bridge, settings
):
    settings.CHAT_APPROVAL_TIMEOUT = 0.5
    _, user = dental
    socket, _ = await ask_to_delete_bob(model_settings, sockets, user)
    decided = await socket.until(lambda e: e["type"] == "tool.approval.decided")
    assert decided["decision"] == "timeout"
    await socket.until(lambda e: e["type"] == "chat.done")
    assert deletes(bridge) == []
    assert bob_exists(bridge)


async def test_stopping_the_answer_declines_the_waiting_call(
    dental, model_settings, sockets, bridge
):
    _, user = dental
    socket, asked = await ask_to_delete_bob(model_settings, sockets, user)
    await socket.send({"type": "chat.stop", "conversation": asked["conversation"]})
    done = await socket.until(lambda e: e["type"] == "chat.done")
    assert done["stopped"] is True
    assert deletes(bridge) == []
    await socket.send(answer(asked, "approve"))
    late = await socket.until(lambda e: e["type"] == "error")
    assert late["code"] == "unknown_approval"
    assert deletes(bridge) == []
    stored = await Message.objects.aget(tool_call_id=asked["id"])
    assert stored.approval["decision"] == "stopped"
    await audit_drain()
    entry = await AuditEntry.objects.aget(tool="delete_contact")
    assert (entry.outcome, entry.approval_decision) == ("cancelled", "stopped")


async def test_closing_the_socket_declines_the_waiting_call(
    dental, model_settings, sockets, bridge
):
    _, user = dental
    socket, asked = await ask_to_delete_bob(model_settings, sockets, user)
    # A disconnect cancels the turn and waits for it, so its end is stored by now.
    await socket.close()
    stored = await Message.objects.aget(tool_call_id=asked["id"])
    assert stored.approval["decision"] == "stopped"
    assert deletes(bridge) == []


async def test_only_the_user_whose_turn_it_is_may_approve(
    dental, model_settings, sockets, bridge, user_factory
):
    tenant, user = dental
    colleague = await sync_to_async(user_factory)("colin")
    await Membership.objects.acreate(user=colleague, tenant=tenant, role=Membership.Role.OWNER)
    socket, asked = await ask_to_delete_bob(model_settings, sockets, user)
    other = await sockets("dental", user=colleague)
    await other.open()
    approve = answer(asked, "approve")
    await other.send(approve)
    refused = await other.until(lambda e: e["type"] == "error")
    assert refused["code"] == "unknown_approval"
    assert deletes(bridge) == []

    # Another window of the same user may answer.
    second_window = await sockets("dental", user=user)
    await second_window.open()
    await second_window.send(approve)
    decided = await socket.until(lambda e: e["type"] == "tool.approval.decided")
    assert decided["decision"] == "approved"
    await socket.until(lambda e: e["type"] == "chat.done")
    assert len(deletes(bridge)) == 1


async def test_a_reload_shows_the_waiting_card_and_then_the_decision(
    dental, model_settings, sockets, bridge
):
    tenant, user = dental
    socket, asked = await ask_to_delete_bob(model_settings, sockets, user)
    client = Client()
    await sync_to_async(client.force_login)(user)
    url = f"/tenants/{tenant.slug}/chat/{asked['conversation']}/"
    page = (await sync_to_async(client.get)(url)).content.decode()
    assert "Waiting for your approval" in page
    assert f"Delete contact Bob Martinez ({BOB})" in page
    await socket.send(answer(asked, "approve"))
    await socket.until(lambda e: e["type"] == "chat.done")
    page = (await sync_to_async(client.get)(url)).content.decode()
    assert "Approved by dana" in page
    assert "Waiting for your approval" not in page


async def test_with_no_approval_policy_the_assistant_deletes_without_asking(
    dental, model_settings, sockets, bridge
):
    tenant, user = dental
    await Tenant.objects.filter(pk=tenant.pk).aupdate(approval_policy=Tenant.ApprovalPolicy.NONE)
    model_settings.push(tool_calls(("delete_contact", {"contactId": BOB})), text("Gone."))
    socket = await sockets("dental", user=user)
    await socket.open()
    await socket.send({"type": "chat.send", "conversation": None, "text": "Wipe Bob"})
    seen = []
    while (event := await socket.event())["type"] != "chat.done":
        seen.append(event["type"])
    assert "tool.approval" not in seen
    assert len(deletes(bridge)) == 1


async def test_reads_never_wait_for_approval_even_when_every_change_does(
    dental, model_settings, sockets, bridge
):
    tenant, user = dental
    await Tenant.objects.filter(pk=tenant.pk).aupdate(approval_policy=Tenant.ApprovalPolicy.CHANGES)
    model_settings.push(
        tool_calls(("get_contact", {"contactId": BOB})),
        tool_calls(("create_contact", {"firstName": "Eve", "email": "eve@example.com"})),
        text("Done."),
    )
    socket = await sockets("dental", user=user)
    await socket.open()
    await socket.send({"type": "chat.send", "conversation": None, "text": "Look up and add"})
    asked = await socket.until(lambda e: e["type"] == "tool.approval")
    assert (asked["name"], asked["risk"]) == ("create_contact", "write")
    assert bridge.requests("/contacts/", "POST") == []
