"""A stored conversation as the chat page shows it: turns made of text, tool cards and notices."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.safestring import SafeString

from mcpbridge.chat.models import Message
from mcpbridge.chat.rendering import markdown_html
from mcpbridge.chat.transcript import ToolCall

CardState = Literal["done", "error", "cancelled", "declined", "waiting", "missing"]
STATE_LABELS = {
    "done": "Done",
    "error": "Error",
    "cancelled": "Cancelled",
    "declined": "Declined",
    "waiting": "Waiting for approval",
    "missing": "No result",
}
DECISION_LABELS = {
    "approved": "Approved",
    "declined": "Declined",
    "timeout": "No answer in time: declined",
    "stopped": "Stopped before an answer: declined",
}


def approval_view(call_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """A stored (or pending) approval as the card shows it, with its outcome in words."""
    decision = record.get("decision") or ""
    outcome = DECISION_LABELS.get(decision, "")
    if outcome and record.get("by"):
        outcome += f" by {record['by']}"
    return {
        "id": call_id,
        "risk": record.get("risk", ""),
        "summary": record.get("summary", ""),
        "decision": decision,
        "outcome": outcome,
    }


def duration_label(milliseconds: int | None) -> str:
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    return f"{milliseconds / 1000:.1f} s"


def pretty_result(text: str) -> str:
    """A JSON result indented for reading; any other text as it is."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def pretty_arguments(call: ToolCall) -> str:
    parsed = call.parsed_arguments()
    if isinstance(parsed, str):
        return parsed
    return json.dumps(parsed, indent=2, ensure_ascii=False)


@dataclass
class ToolCard:
    id: str
    name: str
    arguments: str
    state: CardState
    result: str = ""
    duration_ms: int | None = None
    approval: dict[str, Any] | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def duration(self) -> str:
        return duration_label(self.duration_ms)


@dataclass
class Part:
    kind: Literal["text", "tool", "notice"]
    html: SafeString | None = None
    card: ToolCard | None = None
    notice: str = ""
    notice_level: Literal["info", "error"] = "info"


@dataclass
class Turn:
    role: Literal["user", "assistant"]
    text: str = ""
    parts: list[Part] = field(default_factory=list)


def _card(call: ToolCall, answer: Message | None, pending: dict[str, Any] | None) -> ToolCard:
    card = ToolCard(id=call.id, name=call.name, arguments=pretty_arguments(call), state="missing")
    if answer is None:
        if pending is not None:
            card.state = "waiting"
            card.approval = approval_view(call.id, pending)
        return card
    card.result = pretty_result(answer.content)
    card.duration_ms = answer.duration_ms
    if answer.approval:
        card.approval = approval_view(call.id, answer.approval)
    if answer.error_code in ("cancelled", "declined"):
        card.state = answer.error_code  # type: ignore[assignment]
    else:
        card.state = "error" if answer.is_error else "done"
    return card


def _assistant_parts(
    message: Message, answers: dict[str, Message], pending: dict[str, dict[str, Any]]
) -> list[Part]:
    parts = []
    if message.content:
        parts.append(Part(kind="text", html=markdown_html(message.content)))
    for raw in message.tool_calls or []:
        call = ToolCall.from_dict(raw)
        card = _card(call, answers.get(call.id), pending.get(call.id))
        parts.append(Part(kind="tool", card=card))
    if message.status == Message.Status.STOPPED:
        parts.append(Part(kind="notice", notice="Stopped."))
    elif message.status == Message.Status.ERROR:
        parts.append(Part(kind="notice", notice=message.error, notice_level="error"))
    return parts


def unanswered_calls(messages: Iterable[Message]) -> list[str]:
    """The ids of the tool calls in ``messages`` that have no result (yet)."""
    rows = list(messages)
    answered = {m.tool_call_id for m in rows if m.role == Message.Role.TOOL}
    return [
        str(raw.get("id", ""))
        for m in rows
        if m.role == Message.Role.ASSISTANT
        for raw in m.tool_calls or []
        if str(raw.get("id", "")) not in answered
    ]


def history_turns(
    messages: Iterable[Message], pending: dict[str, dict[str, Any]] | None = None
) -> list[Turn]:
    """``messages`` grouped into the user's turns and the assistant's; ``pending``: the
    approvals still waiting, by call id."""
    pending = pending or {}
    rows = list(messages)
    answers = {m.tool_call_id: m for m in rows if m.role == Message.Role.TOOL}
    turns: list[Turn] = []
    for message in rows:
        if message.role == Message.Role.USER:
            turns.append(Turn(role="user", text=message.content))
        elif message.role == Message.Role.ASSISTANT:
            if not turns or turns[-1].role != "assistant":
                turns.append(Turn(role="assistant"))
            turns[-1].parts.extend(_assistant_parts(message, answers, pending))
    return turns
