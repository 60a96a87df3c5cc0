"""A chat turn end to end: the user's message stored, the agent loop run, its work stored.

``chat_turn`` is all a transport needs: it emits every event of the turn (including
``chat.error`` for a message it refuses) to ``emit``. The caller checks access first
and runs it as a task; cancelling the task is the stop button.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from django.urls import reverse

from mcpbridge.agent import AgentConfig, AgentLoop, ModelNotConfigured
from mcpbridge.chat_events import Emit
from mcpbridge.conversations import (
    ConversationNotFound,
    conversation_append,
    conversation_create,
    conversation_for_user,
    conversation_history,
    title_from,
)
from mcpbridge.models import Conversation
from mcpbridge.rendering import markdown_html
from mcpbridge.transcript import ChatMessage

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 20_000
INTERNAL_ERROR = "Something went wrong on our side. The conversation is kept; try again."


class ChatRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def chat_url(conversation: Conversation) -> str:
    return reverse(
        "chat:conversation", kwargs={"slug": conversation.tenant.slug, "pk": conversation.pk}
    )


def _checked_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChatRefused("empty_message", "Write a message first.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ChatRefused(
            "message_too_long", f"A message can be at most {MAX_MESSAGE_CHARS:,} characters long."
        )
    return text.strip()


@database_sync_to_async
def _open(
    *, tenant: Any, user: Any, conversation_id: int | None, text: str
) -> tuple[Conversation, bool, list[ChatMessage]]:
    if conversation_id is None:
        conversation = conversation_create(tenant=tenant, user=user, title=title_from(text))
        created = True
    else:
        try:
            conversation = conversation_for_user(
                tenant=tenant, user=user, conversation_id=conversation_id
            )
        except ConversationNotFound as exc:
            raise ChatRefused("not_found", exc.message) from None
        created = False
    conversation_append(conversation=conversation, messages=[ChatMessage("user", text)])
    return conversation, created, conversation_history(conversation=conversation)


def _recorder(conversation: Conversation, emit: Emit) -> Any:
    append = database_sync_to_async(conversation_append)

    async def record(messages: list[ChatMessage]) -> None:
        await append(conversation=conversation, messages=messages)
        for message in messages:
            if message.role == "assistant" and message.content:
                html = str(markdown_html(message.content))
                await emit({"type": "chat.text", "conversation": conversation.pk, "html": html})

    return record


async def chat_turn(
    *,
    tenant: Any,
    user: Any,
    conversation_id: int | None,
    text: Any,
    emit: Emit,
    config: AgentConfig | None = None,
) -> Conversation | None:
    """Answer ``text`` in a conversation (a new one when ``conversation_id`` is None)."""
    config = config or AgentConfig.from_settings()
    try:
        if not config.configured:
            raise ChatRefused(ModelNotConfigured.code, ModelNotConfigured().message)
        checked = _checked_text(text)
        conversation, created, history = await _open(
            tenant=tenant, user=user, conversation_id=conversation_id, text=checked
        )
    except ChatRefused as exc:
        await emit(
            {
                "type": "chat.error",
                "conversation": conversation_id,
                "code": exc.code,
                "message": exc.message,
            }
        )
        return None
    if created:
        url = await database_sync_to_async(chat_url)(conversation)
        await emit(
            {
                "type": "chat.started",
                "conversation": conversation.pk,
                "title": conversation.display_title,
                "url": url,
            }
        )
    loop = AgentLoop(
        tenant=tenant,
        emit=emit,
        record=_recorder(conversation, emit),
        config=config,
        conversation=conversation.pk,
    )
    try:
        await loop.run(history)
    except Exception:
        logger.exception("chat turn failed in conversation %s", conversation.pk)
        await emit(
            {
                "type": "chat.error",
                "conversation": conversation.pk,
                "code": "internal_error",
                "message": INTERNAL_ERROR,
            }
        )
    return conversation
