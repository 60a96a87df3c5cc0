"""The websocket protocol's messages, one ``TypedDict`` per type (see docs/websocket.md).

``message_parse`` turns a decoded frame into one of the client messages or raises
``MessageError`` with the code and text of the ``error`` event to answer with.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from config.errors import HubError

CallId = str | int

MAX_ID_LENGTH = 128
MAX_NAME_LENGTH = 128


class MessageError(HubError):
    permanent = True

    def __init__(self, code: str, message: str, *, call_id: CallId | None = None) -> None:
        super().__init__(message, code=code)
        self.call_id = call_id


# --- client messages -------------------------------------------------------------------


class ToolsListMessage(TypedDict):
    type: Literal["tools.list"]
    id: NotRequired[CallId]


class ToolsCallMessage(TypedDict):
    type: Literal["tools.call"]
    id: CallId
    name: str
    arguments: dict[str, Any]


class CallCancelMessage(TypedDict):
    type: Literal["call.cancel"]
    id: CallId


class ChatSendMessage(TypedDict):
    type: Literal["chat.send"]
    conversation: int | None
    text: str


class ChatStopMessage(TypedDict):
    type: Literal["chat.stop"]
    conversation: int | None


class ToolApproveMessage(TypedDict):
    type: Literal["tool.approve"]
    conversation: int
    id: str
    decision: Literal["approve", "reject"]


ClientMessage = (
    ToolsListMessage
    | ToolsCallMessage
    | CallCancelMessage
    | ChatSendMessage
    | ChatStopMessage
    | ToolApproveMessage
)


# --- server events ---------------------------------------------------------------------


class ToolsListResultEvent(TypedDict):
    type: Literal["tools.list.result"]
    id: NotRequired[CallId]
    tools: list[dict[str, Any]]


class ToolStartedEvent(TypedDict):
    type: Literal["tool.started"]
    id: CallId
    name: str


class ToolProgressEvent(TypedDict):
    type: Literal["tool.progress"]
    id: CallId
    progress: float
    total: float | None
    message: str | None


class ToolResultEvent(TypedDict):
    type: Literal["tool.result"]
    id: CallId
    content: list[dict[str, Any]]
    isError: bool
    structuredContent: NotRequired[Any]


class ToolErrorEvent(TypedDict):
    type: Literal["tool.error"]
    id: CallId
    code: str
    message: str
    retry_after: NotRequired[int]
    errors: NotRequired[list[str]]


class ErrorEvent(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    id: NotRequired[CallId]
    retry_after: NotRequired[int]


# --- parsing ---------------------------------------------------------------------------


def _call_id(content: dict[str, Any]) -> CallId:
    value = content.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MessageError("invalid_message", "id must be a string or an integer.")
    if isinstance(value, str) and not 0 < len(value) <= MAX_ID_LENGTH:
        raise MessageError("invalid_message", f"id must be 1 to {MAX_ID_LENGTH} characters long.")
    return value


def _tools_list(content: dict[str, Any]) -> ToolsListMessage:
    message: ToolsListMessage = {"type": "tools.list"}
    if "id" in content:
        message["id"] = _call_id(content)
    return message


def _tools_call(content: dict[str, Any]) -> ToolsCallMessage:
    call_id = _call_id(content)
    name = content.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH:
        raise MessageError(
            "invalid_message", "name must be the tool's name, a string.", call_id=call_id
        )
    arguments = content.get("arguments", {})
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise MessageError("invalid_message", "arguments must be a JSON object.", call_id=call_id)
    return {"type": "tools.call", "id": call_id, "name": name, "arguments": arguments}


def _call_cancel(content: dict[str, Any]) -> CallCancelMessage:
    call_id = _call_id(content)
    return {"type": "call.cancel", "id": call_id}


def _conversation(content: dict[str, Any]) -> int | None:
    value = content.get("conversation")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MessageError("invalid_message", "conversation must be an id (a number) or null.")
    return value


def _chat_send(content: dict[str, Any]) -> ChatSendMessage:
    text = content.get("text")
    if not isinstance(text, str):
        raise MessageError("invalid_message", "text must be the message, a string.")
    if "\x00" in text:
        raise MessageError("invalid_message", "text must not contain NUL characters.")
    return {"type": "chat.send", "conversation": _conversation(content), "text": text}


def _chat_stop(content: dict[str, Any]) -> ChatStopMessage:
    return {"type": "chat.stop", "conversation": _conversation(content)}


def _tool_approve(content: dict[str, Any]) -> ToolApproveMessage:
    conversation = _conversation(content)
    if conversation is None:
        raise MessageError("invalid_message", "conversation must be the conversation's id.")
    call_id = _call_id(content)
    decision = content.get("decision")
    if decision not in ("approve", "reject"):
        raise MessageError(
            "invalid_message", 'decision must be "approve" or "reject".', call_id=call_id
        )
    return {
        "type": "tool.approve",
        "conversation": conversation,
        "id": str(call_id),
        "decision": decision,
    }


_PARSERS = {
    "tools.list": _tools_list,
    "tools.call": _tools_call,
    "call.cancel": _call_cancel,
    "chat.send": _chat_send,
    "chat.stop": _chat_stop,
    "tool.approve": _tool_approve,
}


def message_parse(content: Any) -> ClientMessage:
    if not isinstance(content, dict):
        raise MessageError("invalid_message", "A message must be a JSON object.")
    kind = content.get("type")
    if not isinstance(kind, str):
        raise MessageError("invalid_message", "A message needs a type, a string.")
    parser = _PARSERS.get(kind)
    if parser is None:
        known = ", ".join(_PARSERS)
        raise MessageError("unknown_type", f"Unknown message type {kind[:64]!r}; use {known}.")
    # Each parser returns its own member of the ClientMessage union.
    return parser(content)  # type: ignore[return-value]
