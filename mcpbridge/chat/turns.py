"""A chat turn end to end: the user's message stored, the agent loop run, its work stored.

``chat_turn`` is all a transport needs: it emits every event of the turn (including
``chat.error`` for a message it refuses) to ``emit``. The caller checks access first
and runs it as a task; cancelling the task is the stop button.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import DatabaseError, transaction
from django.urls import reverse

from config.errors import HubError
from config.jsonapi import unexpected_error
from mcpbridge.chat.agent.loop import AgentLoop
from mcpbridge.chat.agent.model_client import AgentConfig, ModelNotConfiguredError
from mcpbridge.chat.conversations import (
    ConversationNotFoundError,
    conversation_append,
    conversation_create,
    conversation_for_user,
    conversation_history,
    title_from,
)
from mcpbridge.chat.events import ChatErrorEvent, ChatEvent, Emit
from mcpbridge.chat.leases import (
    ConversationBusyError,
    ConversationLease,
    KeptLease,
    conversation_lease_kept,
    conversation_lease_release,
    conversation_lease_take,
)
from mcpbridge.chat.models import Conversation
from mcpbridge.chat.rendering import markdown_html
from mcpbridge.chat.transcript import ChatMessage

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 20_000
INTERNAL_ERROR = "Something went wrong on our side. The conversation is kept; try again."
# Added to the model's timeout: even when that is short, a renewal that runs late (a busy
# worker, a slow cache) must not let a running turn's lease lapse.
LEASE_MARGIN = 30


# Pauses between attempts to store a turn's messages while the database is away: a
# restart or a failover should cost the user nothing.
RECORD_RETRY_DELAYS: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0)


class TurnNotSavedError(HubError):
    """The database stayed away: what the user saw of this turn is not in the history."""

    code = "not_saved"
    default_message = (
        "The hub's database is not answering, so this answer was not saved and will be "
        "missing from the conversation after a reload. Copy what you need and try again "
        "in a moment."
    )


class ChatRefusedError(HubError):
    permanent = True

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def chat_url(conversation: Conversation) -> str:
    return reverse(
        "chat:conversation", kwargs={"slug": conversation.tenant.slug, "pk": conversation.pk}
    )


def _checked_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChatRefusedError("empty_message", "Write a message first.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ChatRefusedError(
            "message_too_long", f"A message can be at most {MAX_MESSAGE_CHARS:,} characters long."
        )
    return text.strip()


def lease_seconds(config: AgentConfig) -> int:
    """How long a turn's lease lasts between renewals. A lease left by a worker that died
    holds its conversation up about as long as a silent model would have (``timeout``)."""
    return math.ceil(config.timeout) + LEASE_MARGIN


def _conversation(
    *, tenant: Tenant, user: Any, conversation_id: int | None, text: str
) -> tuple[Conversation, bool]:
    if conversation_id is None:
        return conversation_create(tenant=tenant, user=user, title=title_from(text)), True
    try:
        conversation = conversation_for_user(
            tenant=tenant, user=user, conversation_id=conversation_id
        )
    except ConversationNotFoundError as exc:
        raise ChatRefusedError("not_found", exc.message) from None
    return conversation, False


@database_sync_to_async
def _open(
    *, tenant: Tenant, user: Any, conversation_id: int | None, text: str, seconds: int
) -> tuple[Conversation, bool, list[ChatMessage], ConversationLease]:
    lease = None
    try:
        # The lease is taken before the message is stored and in the same transaction as
        # a new conversation: a refused turn leaves nothing, and no other window can see
        # a conversation before its first turn holds it.
        with transaction.atomic():
            conversation, created = _conversation(
                tenant=tenant, user=user, conversation_id=conversation_id, text=text
            )
            lease = conversation_lease_take(conversation_id=conversation.pk, seconds=seconds)
            conversation_append(conversation=conversation, messages=[ChatMessage("user", text)])
        history = conversation_history(conversation=conversation)
    except BaseException:
        if lease is not None:
            conversation_lease_release(lease=lease)
        raise
    return conversation, created, history, lease


async def _open_or_give_back(
    **kwargs: Any,
) -> tuple[Conversation, bool, list[ChatMessage], ConversationLease]:
    """``_open``; if the turn is stopped meanwhile, its thread still finishes (it cannot be
    cancelled), and the lease it took is given back."""
    opening = asyncio.ensure_future(_open(**kwargs))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        await asyncio.shield(_give_back_opened(opening))
        raise


async def _give_back_opened(opening: asyncio.Future[Any]) -> None:
    try:
        *_, lease = await opening
    except Exception:
        return
    await sync_to_async(conversation_lease_release, thread_sensitive=False)(lease=lease)


def _recorder(conversation: Conversation, emit: Emit) -> Any:
    append = database_sync_to_async(conversation_append)

    async def record(messages: list[ChatMessage]) -> None:
        # Shown first: the user keeps the answer on the page even if it cannot be stored.
        for message in messages:
            if message.role == "assistant" and message.content:
                html = str(markdown_html(message.content))
                await emit({"type": "chat.text", "conversation": conversation.pk, "html": html})
        for delay in (*RECORD_RETRY_DELAYS, None):
            try:
                # One transaction: an attempt that failed stored nothing, so another is safe.
                await append(conversation=conversation, messages=messages)
                return
            except DatabaseError as exc:
                if delay is None:
                    logger.warning(
                        "conversation %s: the turn was not saved: %s", conversation.pk, exc
                    )
                    raise TurnNotSavedError() from exc
                logger.warning(
                    "conversation %s: the database did not take the turn; retrying",
                    conversation.pk,
                )
                await asyncio.sleep(delay)

    return record


async def chat_turn(
    *,
    tenant: Tenant,
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
            raise ChatRefusedError(ModelNotConfiguredError.code, ModelNotConfiguredError().message)
        checked = _checked_text(text)
        conversation, created, history, lease = await _open_or_give_back(
            tenant=tenant,
            user=user,
            conversation_id=conversation_id,
            text=checked,
            seconds=lease_seconds(config),
        )
    except (ChatRefusedError, ConversationBusyError) as exc:
        await emit(
            {
                "type": "chat.error",
                "conversation": conversation_id,
                "code": exc.code,
                "message": exc.message,
            }
        )
        return None
    async with conversation_lease_kept(lease) as kept:
        await _answer(
            conversation=conversation,
            created=created,
            history=history,
            tenant=tenant,
            user=user,
            emit=_released_before_the_end(emit, kept),
            config=config,
        )
    return conversation


def _released_before_the_end(emit: Emit, kept: KeptLease) -> Emit:
    """``emit``, giving the lease back before the event that ends the turn: a page that hears
    the turn is over may send the next message at once, from this window or another."""

    async def send(event: ChatEvent) -> None:
        if event["type"] in ("chat.done", "chat.error"):
            await kept.give_back()
        await emit(event)

    return send


async def _answer(
    *,
    conversation: Conversation,
    created: bool,
    history: list[ChatMessage],
    tenant: Tenant,
    user: Any,
    emit: Emit,
    config: AgentConfig,
) -> None:
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
        user=user,
    )
    try:
        await loop.run(history)
    except TurnNotSavedError as exc:
        await emit(
            {
                "type": "chat.error",
                "conversation": conversation.pk,
                "code": exc.code,
                "message": exc.message,
            }
        )
    except Exception as exc:
        error = unexpected_error(exc, f"chat turn in conversation {conversation.pk}")
        event: ChatErrorEvent = {
            "type": "chat.error",
            "conversation": conversation.pk,
            "code": error.code,
            "message": INTERNAL_ERROR if error.code == "internal_error" else error.message,
        }
        if error.retry_after is not None:
            event["retry_after"] = error.retry_after
        await emit(event)
