"""A chat turn end to end: stored, replayed, rendered; refusals are chat.error events."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from asgiref.sync import sync_to_async

from mcpbridge.chat import turns as chat_module
from mcpbridge.chat.models import Conversation, Message
from mcpbridge.chat.turns import MAX_MESSAGE_CHARS
from tenants.models import Membership
from tests.chat.fake_model import Reply, text, tool_calls

pytestmark = pytest.mark.django_db(transaction=True)


def rows(conversation_id: int) -> list[tuple[str, str, str]]:
    return [
        (m.role, m.tool_name or m.content, m.status)
        for m in Message.objects.filter(conversation_id=conversation_id).order_by("id")
    ]


async def test_a_first_message_starts_a_titled_conversation_and_stores_the_whole_turn(
    dental, fake_model, turn, events
):
    tenant, user = dental
    fake_model.push(
        tool_calls(("search_contacts", {"query": "Alice"})),
        text("**Alice Nguyen** is a patient."),
    )
    seen = events()
    conversation = await turn(
        "Who is Alice? She called about her appointment yesterday afternoon.", emit=seen
    )
    started = seen.items[0]
    assert started["type"] == "chat.started"
    assert started["conversation"] == conversation.pk
    assert started["title"] == "Who is Alice? She called about her appointment yesterday…"
    assert started["url"] == f"/tenants/dental/chat/{conversation.pk}/"
    assert {e["conversation"] for e in seen.items} == {conversation.pk}
    rendered = seen.of("chat.text")
    assert rendered[-1]["html"] == "<p><strong>Alice Nguyen</strong> is a patient.</p>\n"
    assert await sync_to_async(rows)(conversation.pk) == [
        ("user", "Who is Alice? She called about her appointment yesterday afternoon.", "done"),
        ("assistant", "", "done"),
        ("tool", "search_contacts", "done"),
        ("assistant", "**Alice Nguyen** is a patient.", "done"),
    ]
    stored = await Conversation.objects.aget(pk=conversation.pk)
    assert (stored.tenant_id, stored.user_id) == (tenant.pk, user.pk)


async def test_the_next_message_replays_the_conversation_to_the_model(fake_model, turn, events):
    fake_model.push(tool_calls(("list_calendars", {})), text("Two calendars."), text("Sure."))
    first = await turn("Calendars?")
    seen = events()
    await turn("Thanks!", emit=seen, conversation_id=first.pk)
    assert "chat.started" not in seen.types
    replayed = fake_model.requests[2]["body"]["messages"][1:]
    assert [m["role"] for m in replayed] == ["user", "assistant", "tool", "assistant", "user"]
    assert replayed[-1] == {"role": "user", "content": "Thanks!"}
    assert replayed[1]["tool_calls"][0]["id"] == replayed[2]["tool_call_id"]


async def test_markdown_from_the_model_is_sanitised_before_it_reaches_the_page(
    fake_model, turn, events
):
    fake_model.push(
        text("Hi <script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))")
    )
    seen = events()
    await turn("Hi", emit=seen)
    html = seen.of("chat.text")[0]["html"]
    assert "<script" not in html
    assert "<img" not in html
    assert "javascript:" not in html.replace("[x](javascript:alert(3))", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_a_stopped_turn_keeps_what_was_said(fake_model, turn, events):
    fake_model.push(Reply(deltas=[{"content": "Half an ans"}], hang=True))
    seen = events()
    task = asyncio.create_task(turn("Tell me everything", emit=seen))
    await seen.until(lambda e: e.of("chat.delta"))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    conversation_id = seen.items[0]["conversation"]
    assert await sync_to_async(rows)(conversation_id) == [
        ("user", "Tell me everything", "done"),
        ("assistant", "Half an ans", "stopped"),
    ]


async def test_someone_elses_conversation_is_not_found(
    dental, fake_model, turn, events, user_factory
):
    tenant, _ = dental
    fake_model.push(text("Private."))
    theirs = await turn("Hi")
    colleague = await sync_to_async(user_factory)("colin")
    await Membership.objects.acreate(user=colleague, tenant=tenant, role=Membership.Role.MEMBER)
    seen = events()
    result = await turn("Let me in", emit=seen, conversation_id=theirs.pk, user=colleague)
    assert result is None
    assert seen.types == ["chat.error"]
    assert seen.items[0]["code"] == "not_found"
    assert len(fake_model.requests) == 1
    assert await Message.objects.filter(conversation=theirs).acount() == 2


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("", "empty_message"),
        ("   \n", "empty_message"),
        (None, "empty_message"),
        (["list"], "empty_message"),
        ("x" * (MAX_MESSAGE_CHARS + 1), "message_too_long"),
    ],
    ids=["empty", "blank", "null", "not-text", "too-long"],
)
async def test_bad_messages_are_refused_with_a_chat_error_and_nothing_stored(
    fake_model, turn, events, message, code
):
    seen = events()
    await turn(message, emit=seen)
    assert seen.types == ["chat.error"]
    assert seen.items[0]["code"] == code
    assert await Conversation.objects.acount() == 0
    assert fake_model.requests == []


async def test_without_a_model_nothing_is_stored_and_the_error_says_how_to_configure_one(
    agent_config, turn, events
):
    seen = events()
    await turn("Hello?", emit=seen, config=dataclasses.replace(agent_config, model=""))
    assert seen.types == ["chat.error"]
    assert seen.items[0]["code"] == "model_not_configured"
    assert "LLM_MODEL" in seen.items[0]["message"]
    assert await Conversation.objects.acount() == 0


async def test_a_failure_of_ours_mid_turn_is_a_chat_error_not_a_crash(
    fake_model, turn, events, monkeypatch
):
    fake_model.push(text("Fine."))

    def broken(**kwargs):
        if any(m.role == "assistant" for m in kwargs["messages"]):
            raise RuntimeError("disk full")
        return original(**kwargs)

    original = chat_module.conversation_append
    monkeypatch.setattr(chat_module, "conversation_append", broken)
    seen = events()
    await turn("Hi", emit=seen)
    failure = seen.items[-1]
    assert (failure["type"], failure["code"]) == ("chat.error", "internal_error")
    assert "disk full" not in failure["message"]
