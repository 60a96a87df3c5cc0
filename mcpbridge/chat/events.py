"""The events of a chat turn, one ``TypedDict`` per type (see docs/websocket.md, "Chat").

The agent loop emits them to a callback; a websocket consumer sends them as they are.
Tool events have the shapes of the tool protocol (``tool.started``, ``tool.progress``,
``tool.result``, ``tool.error``) plus the ``conversation`` they belong to, the call's
``arguments`` and its ``duration_ms``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, NotRequired, TypedDict


class ChatStartedEvent(TypedDict):
    type: Literal["chat.started"]
    conversation: int
    title: str
    url: str


class ChatDeltaEvent(TypedDict):
    type: Literal["chat.delta"]
    conversation: int | None
    text: str


class ChatTextEvent(TypedDict):
    type: Literal["chat.text"]
    conversation: int | None
    html: str


class ChatToolStartedEvent(TypedDict):
    type: Literal["tool.started"]
    conversation: int | None
    id: str
    name: str
    arguments: dict[str, Any] | str


class ChatToolProgressEvent(TypedDict):
    type: Literal["tool.progress"]
    conversation: int | None
    id: str
    progress: float
    total: float | None
    message: str | None


class ChatToolResultEvent(TypedDict):
    type: Literal["tool.result"]
    conversation: int | None
    id: str
    content: list[dict[str, Any]]
    isError: bool
    duration_ms: int
    structuredContent: NotRequired[Any]


class ChatToolErrorEvent(TypedDict):
    type: Literal["tool.error"]
    conversation: int | None
    id: str
    code: str
    message: str
    duration_ms: int


class ChatDoneEvent(TypedDict):
    type: Literal["chat.done"]
    conversation: int | None
    stopped: bool
    steps: int


class ChatErrorEvent(TypedDict):
    type: Literal["chat.error"]
    conversation: int | None
    code: str
    message: str
    retry_after: NotRequired[float]


ChatEvent = (
    ChatStartedEvent
    | ChatDeltaEvent
    | ChatTextEvent
    | ChatToolStartedEvent
    | ChatToolProgressEvent
    | ChatToolResultEvent
    | ChatToolErrorEvent
    | ChatDoneEvent
    | ChatErrorEvent
)

Emit = Callable[[ChatEvent], Awaitable[None]]
