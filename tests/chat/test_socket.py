"""Chat over the tenant websocket: the real ASGI application, registry, child and sandbox,
with the fake model behind the agent loop."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from mcpbridge.chat.models import Conversation, Message
from mcpbridge.registry import get_registry
from tenants.models import Membership
from tests.chat.fake_model import Reply, text, tool_calls

pytestmark = pytest.mark.django_db(transaction=True)


def kinds(events):
    return [event["type"] for event in events]


async def turn_events(socket, until="chat.done"):
    seen = []
    while True:
        event = await socket.event()
        seen.append(event)
        if event["type"] in (until, "chat.error", "websocket.close"):
            return seen


async def chat_socket(sockets, user, text):
    """An open socket of ``user`` in the dental office, that has sent ``text`` to a new
    conversation."""
    socket = await sockets("dental", user=user)
    await socket.open()
    await socket.send({"type": "chat.send", "conversation": None, "text": text})
    return socket


async def test_a_member_chats_over_the_socket_and_the_turn_is_stored(
    dental,
    model_settings,
    sockets,
):
    tenant, user = dental
    model_settings.push(
        tool_calls(("search_contacts", {"query": "Alice"})), text("Alice is ", "a patient.")
    )
    socket = await chat_socket(sockets, user, "Who is Alice?")
    seen = await turn_events(socket)
    assert kinds(seen) == [
        "chat.started",
        "tool.started",
        "tool.result",
        "chat.delta",
        "chat.delta",
        "chat.text",
        "chat.done",
    ]
    conversation = seen[0]["conversation"]
    assert {e["conversation"] for e in seen} == {conversation}
    assert "ct_dental_alice" in seen[2]["content"][0]["text"]
    assert seen[-2]["html"] == "<p>Alice is a patient.</p>\n"
    stored = await Conversation.objects.aget(pk=conversation)
    assert (stored.tenant_id, stored.user_id, stored.title) == (tenant.pk, user.pk, "Who is Alice?")
    assert await Message.objects.filter(conversation=stored).acount() == 4


async def test_stop_ends_the_turn_and_keeps_what_was_written(
    dental,
    model_settings,
    sockets,
):
    _, user = dental
    model_settings.push(Reply(deltas=[{"content": "Thinking about"}], hang=True))
    socket = await chat_socket(sockets, user, "Long question")
    started = await socket.until(lambda e: e["type"] == "chat.delta")
    await socket.send({"type": "chat.stop", "conversation": started["conversation"]})
    done = await socket.until(lambda e: e["type"] == "chat.done")
    assert done["stopped"] is True
    last = await Message.objects.filter(conversation_id=started["conversation"]).alast()
    assert (last.content, last.status) == ("Thinking about", "stopped")
    assert model_settings.wait_for(lambda: model_settings.disconnects == 1)


async def test_a_stop_sent_right_after_the_message_still_ends_the_turn_once(
    dental,
    model_settings,
    sockets,
):
    # Stopped before the turn was under way, it once ended with no event at all: the page
    # waited for ever.
    _, user = dental
    model_settings.push(Reply(deltas=[{"content": "Never"}], hang=True))
    socket = await chat_socket(sockets, user, "Quick, stop")
    await socket.send({"type": "chat.stop", "conversation": None})
    ends = [e for e in await turn_events(socket) if e["type"] in ("chat.done", "chat.error")]
    assert [(e["type"], e["stopped"]) for e in ends] == [("chat.done", True)]
    await socket.send({"type": "chat.stop", "conversation": None})
    assert (await socket.event())["code"] == "not_running"


async def test_one_turn_at_a_time_per_socket_and_stop_without_a_turn_is_an_error(
    dental,
    model_settings,
    sockets,
):
    _, user = dental
    model_settings.push(Reply(deltas=[{"content": "Busy"}], hang=True))
    socket = await chat_socket(sockets, user, "First")
    await socket.until(lambda e: e["type"] == "chat.delta")
    await socket.send({"type": "chat.send", "conversation": None, "text": "Second"})
    busy = await socket.until(lambda e: e["type"] == "chat.error")
    assert busy["code"] == "busy"
    await socket.send({"type": "chat.stop", "conversation": None})
    await socket.until(lambda e: e["type"] == "chat.done")
    await socket.send({"type": "chat.stop", "conversation": None})
    assert (await socket.until(lambda e: e["type"] == "error"))["code"] == "not_running"


async def test_a_disconnect_mid_turn_stops_it_and_releases_the_child(
    dental,
    model_settings,
    sockets,
    ghl_sandbox,
):
    _, user = dental
    ghl_sandbox.fail("/contacts/*", status=500, delay=3)
    model_settings.push(tool_calls(("get_contact", {"contactId": "ct_dental_alice"})))
    socket = await chat_socket(sockets, user, "Alice?")
    started = await socket.until(lambda e: e["type"] == "tool.started")
    await socket.close()
    tool = await Message.objects.filter(
        conversation_id=started["conversation"], role="tool"
    ).afirst()
    assert (tool.error_code, tool.is_error) == ("cancelled", True)
    assert [row.refcount for row in get_registry().children()] == [0]


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"type": "chat.send", "conversation": None}, "text must be"),
        ({"type": "chat.send", "conversation": "12", "text": "hi"}, "conversation must be"),
        ({"type": "chat.send", "conversation": True, "text": "hi"}, "conversation must be"),
        ({"type": "chat.stop", "conversation": -3}, "conversation must be"),
    ],
)
async def test_malformed_chat_messages_get_an_error_and_the_socket_carries_on(
    dental,
    model_settings,
    sockets,
    message,
    words,
):
    _, user = dental
    model_settings.push(text("Still here."))
    socket = await sockets("dental", user=user)
    await socket.open()
    await socket.send(message)
    error = await socket.event()
    assert (error["type"], error["code"]) == ("error", "invalid_message")
    assert words in error["message"]
    await socket.send({"type": "chat.send", "conversation": None, "text": "Hello"})
    assert (await socket.until(lambda e: e["type"] == "chat.done"))["stopped"] is False


async def test_a_viewer_and_a_program_cannot_chat(
    dental,
    model_settings,
    sockets,
    user_factory,
    api_token_factory,
):
    tenant, _ = dental
    viewer = await sync_to_async(user_factory)("vera")
    await Membership.objects.acreate(user=viewer, tenant=tenant, role=Membership.Role.VIEWER)
    socket = await chat_socket(sockets, viewer, "hi")
    refused = await socket.event()
    assert (refused["type"], refused["code"]) == ("chat.error", "forbidden")

    _, token = await sync_to_async(api_token_factory)(tenant)
    program = await sockets("dental", token=token, origin=None)
    await program.open()
    await program.send({"type": "chat.send", "conversation": None, "text": "hi"})
    refused = await program.event()
    assert (refused["type"], refused["code"]) == ("chat.error", "forbidden")
    assert "signed-in user" in refused["message"]
    assert model_settings.requests == []
    assert await Conversation.objects.acount() == 0


async def test_rights_are_checked_again_for_every_message(
    dental,
    model_settings,
    sockets,
):
    tenant, user = dental
    model_settings.push(text("First answer."))
    socket = await chat_socket(sockets, user, "One")
    await socket.until(lambda e: e["type"] == "chat.done")
    await Membership.objects.filter(user=user, tenant=tenant).adelete()
    await socket.send({"type": "chat.send", "conversation": None, "text": "Two"})
    refused = await socket.until(lambda e: e["type"] == "chat.error")
    assert (refused["type"], refused["code"]) == ("chat.error", "not_found")
    closed = await socket.until(lambda e: e["type"] == "websocket.close")
    assert closed == {"type": "websocket.close", "code": 4404}
    assert len(model_settings.requests) == 1


async def test_the_assistants_tool_calls_count_against_the_tenants_budget(
    dental,
    model_settings,
    sockets,
    settings,
    ratelimit_clock,
):
    _, user = dental
    settings.TENANT_RATE_LIMIT = "1/m"
    model_settings.push(
        tool_calls(("list_calendars", {}), ("list_pipelines", {})), text("One of two.")
    )
    socket = await chat_socket(sockets, user, "Both, please")
    seen = await turn_events(socket)
    outcomes = sorted(
        e["type"] + ":" + e.get("code", "")
        for e in seen
        if e["type"] in ("tool.result", "tool.error")
    )
    assert outcomes == ["tool.error:rate_limited", "tool.result:"]
    fed_back = model_settings.requests[1]["body"]["messages"][-2:]
    assert any(m["content"].startswith("Error (rate_limited)") for m in fed_back)
