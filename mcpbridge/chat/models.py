from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from mcpbridge.chat.transcript import ChatMessage, ToolCall
from tenants.models import Tenant

UNTITLED = "New conversation"


class Conversation(models.Model):
    """One user's conversation with one tenant's assistant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="conversations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The last message's time: lists show the most recent conversations first.
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "user", "-updated_at"], name="conversation_recent"),
        ]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        return self.title or UNTITLED


def _without_nul(value: Any) -> Any:
    """``value`` with every NUL character taken out of its strings, at any depth."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


class Message(models.Model):
    """A message of a conversation: the user's, the assistant's (text and tool calls) or a
    tool's result. Enough to show the history again and to replay it to the model."""

    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"
        TOOL = "tool", "Tool"

    class Status(models.TextChoices):
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped"
        ERROR = "error", "Error"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField(blank=True)
    # Assistant messages: [{"id", "name", "arguments"}], arguments as the model's JSON text.
    tool_calls = models.JSONField(default=list, blank=True)
    tool_call_id = models.CharField(max_length=64, blank=True)
    tool_name = models.CharField(max_length=200, blank=True)
    is_error = models.BooleanField(default=False)
    error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DONE)
    # Tool messages of a call that needed approval: {"risk", "summary", "decision", "by", "at"}.
    approval = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.role} message {self.pk} of conversation {self.conversation_id}"

    def to_chat_message(self) -> ChatMessage:
        # role and status are CharFields limited by their choices to ChatMessage's Literals.
        return ChatMessage(
            role=self.role,  # type: ignore[arg-type]
            content=self.content,
            tool_calls=[ToolCall.from_dict(raw) for raw in self.tool_calls or []],
            tool_call_id=self.tool_call_id,
            tool_name=self.tool_name,
            is_error=self.is_error,
            error_code=self.error_code,
            duration_ms=self.duration_ms,
            status=self.status,  # type: ignore[arg-type]  # as role
            error=self.error,
            approval=self.approval,
        )

    @classmethod
    def from_chat_message(cls, conversation: Conversation, message: ChatMessage) -> Message:
        # What the model or a tool wrote may hold NUL characters, which PostgreSQL cannot store
        # in text or JSON; they carry no meaning for a reader, so they are dropped.
        return cls(
            conversation=conversation,
            role=message.role,
            content=_without_nul(message.content),
            tool_calls=_without_nul([call.as_dict() for call in message.tool_calls]),
            tool_call_id=_without_nul(message.tool_call_id),
            tool_name=_without_nul(message.tool_name)[:200],
            is_error=message.is_error,
            error_code=_without_nul(message.error_code)[:64],
            error=_without_nul(message.error),
            duration_ms=message.duration_ms,
            status=message.status,
            approval=_without_nul(message.approval),
        )
