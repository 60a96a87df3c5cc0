"""A conversation as the agent loop sees it: storage-neutral messages and the model's view.

``ChatMessage`` is what the loop produces and what storage keeps; ``model_messages``
turns a history into OpenAI chat-completions messages, with tool results cut to a
size limit and the oldest turns left out when the history is too long.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant", "tool"]
Status = Literal["done", "stopped", "error"]

CANCELLED_RESULT = "The call was cancelled before it finished."


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model asked for. ``arguments`` is the model's JSON text, as sent."""

    id: str
    name: str
    arguments: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ToolCall:
        return cls(
            id=str(raw.get("id", "")),
            name=str(raw.get("name", "")),
            arguments=str(raw.get("arguments", "")),
        )

    def parsed_arguments(self) -> dict[str, Any] | str:
        """The arguments as an object, or the raw text when they are not a JSON object."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return self.arguments
        return value if isinstance(value, dict) else self.arguments


@dataclass
class ChatMessage:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    # Tool messages: which call they answer, the tool's (MCP) name and how it went.
    tool_call_id: str = ""
    tool_name: str = ""
    is_error: bool = False
    error_code: str = ""
    duration_ms: int | None = None
    status: Status = "done"
    # A turn that failed: the plain message the user was shown.
    error: str = ""
    # Tool messages of a call that needed a person's approval: risk, summary, decision, by, at.
    approval: dict[str, Any] | None = None

    @property
    def size(self) -> int:
        return len(self.content) + sum(len(call.arguments) for call in self.tool_calls)


def cut(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters long, saying so when it was cut."""
    if len(text) <= limit:
        return text
    return (
        text[:limit] + f"\n\n[Cut to the first {limit:,} of {len(text):,} characters. "
        "Ask for less (a filter, a smaller limit or the next page) to see the rest.]"
    )


def _assistant(message: ChatMessage, function_name: Callable[[str], str]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": message.content or None}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": function_name(call.name), "arguments": call.arguments or "{}"},
            }
            for call in message.tool_calls
        ]
    return out


def _model_message(
    message: ChatMessage, *, function_name: Callable[[str], str], result_limit: int
) -> dict[str, Any] | None:
    if message.role == "user":
        return {"role": "user", "content": message.content}
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": cut(message.content, result_limit) or "(empty result)",
        }
    if not message.content and not message.tool_calls:
        # An answer that failed before any text: nothing for the model to read.
        return None
    return _assistant(message, function_name)


def _cost(message: ChatMessage, result_limit: int) -> int:
    if message.role == "tool":
        return min(len(message.content), result_limit)
    return message.size


def _recent_turns(history: list[ChatMessage], budget: int, result_limit: int) -> list[ChatMessage]:
    """The newest whole turns (each starts at a user message) that fit in ``budget``."""
    starts = [i for i, message in enumerate(history) if message.role == "user"]
    if not starts:
        return history
    kept_from = starts[-1]
    for start in reversed(starts[:-1]):
        if sum(_cost(m, result_limit) for m in history[start:]) > budget:
            break
        kept_from = start
    return history[kept_from:]


def _answered(history: Iterable[ChatMessage]) -> list[ChatMessage]:
    """``history`` without tool calls left unanswered: the model refuses such a history."""
    history = list(history)
    answered = {m.tool_call_id for m in history if m.role == "tool"}
    kept_calls: set[str] = set()
    out = []
    for message in history:
        if message.tool_calls:
            ids = {call.id for call in message.tool_calls}
            if ids <= answered:
                kept_calls |= ids
                out.append(message)
            elif message.content:
                out.append(ChatMessage(role="assistant", content=message.content))
        elif message.role == "tool":
            if message.tool_call_id in kept_calls:
                out.append(message)
        else:
            out.append(message)
    return out


def model_messages(
    history: list[ChatMessage],
    *,
    function_name: Callable[[str], str],
    result_limit: int,
    history_limit: int,
) -> list[dict[str, Any]]:
    """``history`` as chat-completions messages (no system message)."""
    window = _answered(_recent_turns(history, history_limit, result_limit))
    converted = (
        _model_message(m, function_name=function_name, result_limit=result_limit) for m in window
    )
    return [message for message in converted if message is not None]
