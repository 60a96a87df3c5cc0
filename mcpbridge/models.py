"""The app's models, registered under the ``mcpbridge`` label; they live with the chat."""

from __future__ import annotations

from mcpbridge.chat.models import Conversation, Message

__all__ = ["Conversation", "Message"]
