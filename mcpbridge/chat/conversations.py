"""Conversations of a user with a tenant's assistant: list, open, rename, delete, append."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.errors import HubError
from mcpbridge.chat.models import Conversation, Message
from mcpbridge.chat.transcript import ChatMessage

if TYPE_CHECKING:
    from tenants.models import Tenant

MAX_TITLE = 200
AUTO_TITLE = 60


class ConversationNotFoundError(HubError):
    code = "not_found"
    default_message = "This conversation does not exist, or is not yours."
    permanent = True


class InvalidTitleError(HubError):
    code = "invalid_title"
    permanent = True


def title_from(text: str) -> str:
    """A short title from the first words of a message."""
    line = " ".join(text.split())
    if len(line) <= AUTO_TITLE:
        return line
    cut = line[:AUTO_TITLE].rsplit(" ", 1)[0] or line[:AUTO_TITLE]
    return cut.rstrip(" ,.;:") + "…"


def conversation_list(*, tenant: Tenant, user: Any) -> QuerySet[Conversation]:
    """``user``'s conversations with ``tenant``'s assistant, the most recent first."""
    return Conversation.objects.filter(tenant=tenant, user=user)


def conversation_for_user(*, tenant: Tenant, user: Any, conversation_id: Any) -> Conversation:
    """One of ``user``'s conversations in ``tenant``; ``ConversationNotFoundError`` otherwise."""
    try:
        return conversation_list(tenant=tenant, user=user).get(pk=int(conversation_id))
    except (Conversation.DoesNotExist, TypeError, ValueError):
        raise ConversationNotFoundError() from None


def conversation_create(*, tenant: Tenant, user: Any, title: str = "") -> Conversation:
    """A new, empty conversation."""
    return Conversation.objects.create(tenant=tenant, user=user, title=title[:MAX_TITLE])


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    """Give ``conversation`` a new title (1 to 200 characters once trimmed)."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise InvalidTitleError("A title cannot be empty.")
    if "\x00" in cleaned:
        raise InvalidTitleError("A title cannot contain NUL characters.")
    if len(cleaned) > MAX_TITLE:
        raise InvalidTitleError(f"A title can be at most {MAX_TITLE} characters long.")
    conversation.title = cleaned
    conversation.save(update_fields=["title"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """Delete ``conversation`` and its messages."""
    conversation.delete()


def conversation_append(*, conversation: Conversation, messages: list[ChatMessage]) -> None:
    """Append a turn's ``messages``, in order; the first user message titles an untitled one."""
    with transaction.atomic():
        rows = [Message.from_chat_message(conversation, message) for message in messages]
        for row in rows:
            # One by one: their ids keep their order, which history relies on.
            row.save(force_insert=True)
        fields: dict[str, Any] = {"updated_at": timezone.now()}
        first_user = next((m for m in messages if m.role == "user" and m.content), None)
        if not conversation.title and first_user is not None:
            fields["title"] = title_from(first_user.content)
        Conversation.objects.filter(pk=conversation.pk).update(**fields)
        for name, value in fields.items():
            setattr(conversation, name, value)


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.order_by("id")


def conversation_history(*, conversation: Conversation) -> list[ChatMessage]:
    """The whole conversation as the agent loop reads it."""
    return [row.to_chat_message() for row in conversation_messages(conversation=conversation)]
