"""Conversation services: per tenant and user, ordered, titled, appended in order."""

from __future__ import annotations

import pytest

from mcpbridge.chat.conversations import (
    ConversationNotFoundError,
    conversation_append,
    conversation_create,
    conversation_delete,
    conversation_for_user,
    conversation_history,
    conversation_list,
)
from mcpbridge.chat.models import Message
from mcpbridge.chat.transcript import ChatMessage, ToolCall

pytestmark = pytest.mark.django_db


def test_each_user_lists_only_their_conversations_in_that_tenant_newest_first(
    personas, tenant_factory
):
    first = conversation_create(tenant=personas.tenant, user=personas.member, title="First")
    second = conversation_create(tenant=personas.tenant, user=personas.member, title="Second")
    conversation_create(tenant=personas.tenant, user=personas.owner, title="Owner's")
    conversation_create(tenant=tenant_factory("initech"), user=personas.member, title="Elsewhere")
    conversation_append(conversation=first, messages=[ChatMessage("user", "bump")])
    listed = conversation_list(tenant=personas.tenant, user=personas.member)
    assert [c.title for c in listed] == ["First", "Second"]
    assert second in listed


@pytest.mark.parametrize("raw", ["999999", "abc", None, ""])
def test_a_missing_or_malformed_id_is_not_found(personas, raw):
    with pytest.raises(ConversationNotFoundError):
        conversation_for_user(tenant=personas.tenant, user=personas.member, conversation_id=raw)


def test_another_members_conversation_is_not_found(personas):
    theirs = conversation_create(tenant=personas.tenant, user=personas.owner)
    with pytest.raises(ConversationNotFoundError):
        conversation_for_user(
            tenant=personas.tenant, user=personas.member, conversation_id=theirs.pk
        )


def test_the_first_user_message_titles_an_untitled_conversation_once(personas):
    conversation = conversation_create(tenant=personas.tenant, user=personas.member)
    assert conversation.display_title == "New conversation"
    conversation_append(conversation=conversation, messages=[ChatMessage("user", "Who is Alice?")])
    conversation_append(conversation=conversation, messages=[ChatMessage("user", "And Bob?")])
    conversation.refresh_from_db()
    assert conversation.title == "Who is Alice?"


def test_a_turn_round_trips_through_storage_in_order(personas):
    conversation = conversation_create(tenant=personas.tenant, user=personas.member)
    call = ToolCall("call_1", "get_contact", '{"contactId": "x"}')
    turn = [
        ChatMessage("user", "hi"),
        ChatMessage("assistant", "Looking.", tool_calls=[call]),
        ChatMessage("tool", "{}", tool_call_id="call_1", tool_name="get_contact", duration_ms=5),
        ChatMessage("assistant", "Partial", status="stopped"),
        ChatMessage("assistant", "", status="error", error_code="model_timeout", error="Slow."),
    ]
    conversation_append(conversation=conversation, messages=turn)
    assert conversation_history(conversation=conversation) == turn


def test_nul_characters_from_the_model_or_a_tool_are_dropped_and_the_turn_is_stored(personas):
    conversation = conversation_create(tenant=personas.tenant, user=personas.member)
    call = ToolCall("call_1", "search_contacts", '{"query": "Al\x00ice"}')
    turn = [
        ChatMessage("user", "hi"),
        ChatMessage("assistant", "Look\x00ing.", tool_calls=[call]),
        ChatMessage("tool", "A\x00lice", tool_call_id="call_1", tool_name="search_contacts"),
        ChatMessage("assistant", "", status="error", error_code="x", error="Sl\x00ow."),
    ]
    conversation_append(conversation=conversation, messages=turn)
    stored = conversation_history(conversation=conversation)
    assert [m.content for m in stored] == ["hi", "Looking.", "Alice", ""]
    assert stored[-1].error == "Slow."
    assert stored[1].tool_calls == [ToolCall("call_1", "search_contacts", '{"query": "Alice"}')]


def test_deleting_a_conversation_deletes_its_messages(personas):
    conversation = conversation_create(tenant=personas.tenant, user=personas.member)
    conversation_append(conversation=conversation, messages=[ChatMessage("user", "hi")])
    conversation_delete(conversation=conversation)
    assert Message.objects.count() == 0
