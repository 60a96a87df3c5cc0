"""The assistant's loop: the model streams text and asks for tools, the tenant's child runs them.

One ``AgentLoop.run(history)`` is one turn. The tenant's MCP tools are offered to an
OpenAI-compatible chat-completions endpoint as function tools; the answer streams as
``chat.delta`` events; the tool calls it asks for run through the registry (several at
once, one ``acquire`` each) as ``tool.started`` then ``tool.result`` or ``tool.error``;
their results, cut to a size limit, go back to the model; and so on until an answer
without tool calls (``chat.done``) or the step limit. Model failures end the turn with
``chat.error`` and a plain message. Cancelling the task running ``run`` stops the model's
stream and every call in flight; what was said and done so far is recorded, then
``chat.done`` with ``stopped`` is emitted and the cancellation goes on.

The loop knows no transport and no storage: events go to ``emit``, finished messages
to ``record``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import mcp_types as types
import openai
from django.conf import settings
from django.utils import timezone

from config.logging import tenant_logging
from mcpbridge.chat.agent.model_client import (
    STORED_RESULT_LIMIT,
    SYSTEM_PROMPT,
    AgentConfig,
    AgentError,
    ModelNotConfiguredError,
    ModelStep,
    StepLimitReachedError,
    model_client,
    model_error,
    model_timeout,
)
from mcpbridge.chat.agent.toolbox import Toolbox, function_name, result_text, toolbox_build
from mcpbridge.chat.approvals import (
    DECLINED,
    STOPPED,
    PendingApproval,
    approval_summary,
    approval_wait,
)
from mcpbridge.chat.events import ChatToolErrorEvent, ChatToolResultEvent, Emit
from mcpbridge.chat.transcript import CANCELLED_RESULT, ChatMessage, ToolCall, cut, model_messages
from mcpbridge.registry import get_registry
from mcpbridge.supervisor.errors import (
    BridgeError,
    InvalidArgumentsError,
    UnknownToolError,
)
from mcpbridge.tools import Approval, CallContext, call_result_payload, tenant_tool_call
from tenants.audit import Actor
from tenants.models import AuditEntry

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

Record = Callable[[list[ChatMessage]], Awaitable[None]]

# --- the loop ----------------------------------------------------------------------------


async def _ignore(messages: list[ChatMessage]) -> None:
    return None


class AgentLoop:
    def __init__(
        self,
        *,
        tenant: Tenant,
        emit: Emit,
        record: Record | None = None,
        config: AgentConfig | None = None,
        conversation: int | None = None,
        user: Any = None,
    ) -> None:
        self.tenant = tenant
        self.user = user
        self.config = config or AgentConfig.from_settings()
        self.conversation = conversation
        self._emit_event = emit
        self._record = record or _ignore
        self.steps = 0
        # What the turn is doing now, so a stop or an error can record it.
        self._streaming: ModelStep | None = None
        self._running: list[ToolCall] = []
        self._results: dict[str, ChatMessage] = {}
        # Each asked-for approval of the turn, by call id, as it is stored with the result.
        self._approvals: dict[str, dict[str, Any]] = {}

    async def run(self, history: list[ChatMessage]) -> None:
        """Run one turn on ``history`` (which ends with the user's new message)."""
        with tenant_logging(self.tenant.slug):
            try:
                await self._turn(history)
            except asyncio.CancelledError:
                await asyncio.shield(self._finish_unfinished())
                raise
            except AgentError as exc:
                await self._finish_unfinished(exc)

    async def _turn(self, history: list[ChatMessage]) -> None:
        if not self.config.configured:
            raise ModelNotConfiguredError()
        toolbox = await self._toolbox(history)
        messages = [self._system_message(), *self._history(history)]
        await self._steps(model_client(self.config), messages, toolbox)

    async def _steps(
        self, client: openai.AsyncOpenAI, messages: list[dict[str, Any]], toolbox: Toolbox
    ) -> None:
        while True:
            self.steps += 1
            step = await self._model_step(client, messages, toolbox)
            calls = step.tool_calls(toolbox)
            text = "".join(step.text)
            if not calls:
                await self._record([ChatMessage(role="assistant", content=text)])
                await self._emit({"type": "chat.done", "stopped": False, "steps": self.steps})
                return
            if self.steps >= self.config.max_steps:
                self._streaming = ModelStep(text=step.text)
                raise StepLimitReachedError(
                    f"The assistant stopped after {self.steps} steps without a final answer. "
                    "Ask it to go on, or ask for something narrower."
                )
            asked = ChatMessage(role="assistant", content=text, tool_calls=calls)
            await self._record([asked])
            answers = await self._run_tools(calls, toolbox)
            await self._record(answers)
            messages.extend(
                model_messages(
                    [asked, *answers],
                    function_name=function_name,
                    result_limit=self.config.tool_result_limit,
                    history_limit=self.config.history_limit,
                )
            )

    # --- setup ---

    async def _toolbox(self, history: list[ChatMessage]) -> Toolbox:
        try:
            async with get_registry().acquire(self.tenant) as client:
                listing = await client.list_tools()
        except BridgeError as exc:
            raise AgentError(exc.message, code=exc.code) from None
        latest, earlier = user_requests(history)
        return toolbox_build(
            list(listing.tools), limit=self.config.max_tools, query=latest, context=earlier
        )

    def _system_message(self) -> dict[str, str]:
        today = timezone.localdate().strftime("%A %d %B %Y")
        name = self.tenant.name or self.tenant.slug
        return {"role": "system", "content": SYSTEM_PROMPT.format(name=name, today=today)}

    def _history(self, history: list[ChatMessage]) -> list[dict[str, Any]]:
        return model_messages(
            history,
            function_name=function_name,
            result_limit=self.config.tool_result_limit,
            history_limit=self.config.history_limit,
        )

    # --- the model ---

    async def _model_step(
        self, client: openai.AsyncOpenAI, messages: list[dict[str, Any]], toolbox: Toolbox
    ) -> ModelStep:
        step = self._streaming = ModelStep()
        request: dict[str, Any] = {"model": self.config.model, "messages": messages, "stream": True}
        if toolbox.functions:
            request["tools"] = toolbox.functions
        loop = asyncio.get_running_loop()
        try:
            # The timeout bounds silence, not length: every chunk moves it on.
            async with asyncio.timeout(self.config.timeout) as silence:
                stream = await client.chat.completions.create(**request)
                async with stream:
                    async for chunk in stream:
                        silence.reschedule(loop.time() + self.config.timeout)
                        await self._take(chunk, step)
        except TimeoutError:
            raise model_timeout(self.config) from None
        except openai.APIError as exc:
            raise model_error(exc, self.config) from None
        self._streaming = None
        return step

    async def _take(self, chunk: Any, step: ModelStep) -> None:
        for choice in getattr(chunk, "choices", None) or []:
            delta = getattr(choice, "delta", None)
            if delta is None or getattr(choice, "index", 0) not in (0, None):
                continue
            text = getattr(delta, "content", None)
            if text:
                step.text.append(text)
                await self._emit({"type": "chat.delta", "text": text})
            for piece in getattr(delta, "tool_calls", None) or []:
                step.add_call_piece(piece)

    # --- the tools ---

    async def _run_tools(self, calls: list[ToolCall], toolbox: Toolbox) -> list[ChatMessage]:
        self._running, self._results = calls, {}
        async with asyncio.TaskGroup() as group:
            for call in calls:
                group.create_task(self._run_tool(call, toolbox))
        self._running = []
        return [self._results[call.id] for call in calls]

    async def _run_tool(self, call: ToolCall, toolbox: Toolbox) -> None:
        started = time.perf_counter()
        arguments = call.parsed_arguments()
        await self._emit(
            {"type": "tool.started", "id": call.id, "name": call.name, "arguments": arguments}
        )
        try:
            payload = await self._call(call, arguments, toolbox)
        except BridgeError as exc:
            self._results[call.id] = await self._tool_failed(call, exc, started)
        else:
            self._results[call.id] = await self._tool_answered(call, payload, started)

    async def _call(
        self, call: ToolCall, arguments: dict[str, Any] | str, toolbox: Toolbox
    ) -> dict[str, Any]:
        """One call on the path every way in takes: the tenant's budget, the tool's schema,
        then the child."""
        if call.name not in toolbox.names.values():
            raise UnknownToolError(f"There is no tool named {call.name[:100]!r}.")
        if isinstance(arguments, str):
            raise InvalidArgumentsError(["arguments: not a JSON object"])

        async def progress(done: float, total: float | None, message: str | None) -> None:
            await self._emit(
                {
                    "type": "tool.progress",
                    "id": call.id,
                    "progress": done,
                    "total": total,
                    "message": message,
                }
            )

        context = CallContext(
            way_in=AuditEntry.WayIn.CHAT,
            actor=Actor.of(user=self.user),
            conversation=self.conversation,
            approval_risks=self.tenant.approval_risks(),
            approve=partial(self._approve, call.id),
        )
        result = await tenant_tool_call(
            tenant=self.tenant,
            name=call.name,
            arguments=arguments,
            context=context,
            progress=progress,
        )
        return call_result_payload(result)

    async def _approve(
        self, call_id: str, tool: types.Tool, arguments: dict[str, Any], risk: str
    ) -> Approval:
        """Ask the turn's user, on the page, before a call of ``risk`` goes out."""
        if self.user is None or self.conversation is None:
            return Approval(decision=DECLINED)
        summary = await approval_summary(self.tenant, self.user, tool, arguments)
        event = {
            "type": "tool.approval",
            "id": call_id,
            "name": tool.name,
            "arguments": arguments,
            "risk": risk,
            "summary": summary,
        }
        pending = PendingApproval(self.conversation, call_id, self.user.pk, self.tenant.pk)
        try:
            approval = await approval_wait(
                pending,
                within=settings.CHAT_APPROVAL_TIMEOUT,
                details=event,
                announce=lambda: self._emit(event),
            )
        except asyncio.CancelledError:
            self._approvals[call_id] = {"risk": risk, "summary": summary, "decision": STOPPED}
            raise
        self._approvals[call_id] = {
            "risk": risk,
            "summary": summary,
            "decision": approval.decision,
            "by": approval.by,
            "at": approval.at.isoformat() if approval.at else None,
        }
        await self._emit(
            {
                "type": "tool.approval.decided",
                "id": call_id,
                "decision": approval.decision,
                "by": approval.by,
            }
        )
        return approval

    async def _tool_answered(
        self, call: ToolCall, payload: dict[str, Any], started: float
    ) -> ChatMessage:
        duration = _elapsed_ms(started)
        event: ChatToolResultEvent = {
            "type": "tool.result",
            "conversation": self.conversation,
            "id": call.id,
            # call_result_payload is a plain dict: its keys are ChatToolResultEvent's.
            **payload,  # type: ignore[typeddict-item]
            "duration_ms": duration,
        }
        await self._emit_event(event)
        text = result_text(payload["content"], payload.get("structuredContent"))
        return ChatMessage(
            role="tool",
            content=cut(text, STORED_RESULT_LIMIT),
            tool_call_id=call.id,
            tool_name=call.name,
            is_error=payload["isError"],
            duration_ms=duration,
            approval=self._approvals.get(call.id),
        )

    async def _tool_failed(self, call: ToolCall, exc: BridgeError, started: float) -> ChatMessage:
        duration = _elapsed_ms(started)
        event: ChatToolErrorEvent = {
            "type": "tool.error",
            "conversation": self.conversation,
            "id": call.id,
            "code": exc.code,
            "message": exc.message,
            "duration_ms": duration,
        }
        await self._emit_event(event)
        details = "".join(f"\n- {line}" for line in getattr(exc, "errors", []))
        return ChatMessage(
            role="tool",
            content=f"Error ({exc.code}): {exc.message}{details}",
            tool_call_id=call.id,
            tool_name=call.name,
            is_error=True,
            error_code=exc.code,
            duration_ms=duration,
            approval=self._approvals.get(call.id),
        )

    # --- ending early ---

    def unfinished(self, error: AgentError | None = None) -> list[ChatMessage]:
        """What the turn had said and done when it stopped or failed, as messages to keep."""
        if self._running:
            return [
                self._results.get(call.id)
                or ChatMessage(
                    role="tool",
                    content=CANCELLED_RESULT,
                    tool_call_id=call.id,
                    tool_name=call.name,
                    is_error=True,
                    error_code="cancelled",
                    approval=self._approvals.get(call.id),
                )
                for call in self._running
            ]
        text = "".join(self._streaming.text) if self._streaming else ""
        if not text and error is None:
            return []
        return [
            ChatMessage(
                role="assistant",
                content=text,
                status="error" if error else "stopped",
                error_code=error.code if error else "",
                error=error.message if error else "",
            )
        ]

    async def _finish_unfinished(self, error: AgentError | None = None) -> None:
        kept = self.unfinished(error)
        if self._running and error is not None:
            kept.append(
                ChatMessage(
                    role="assistant", status="error", error_code=error.code, error=error.message
                )
            )
        self._running, self._streaming = [], None
        if kept:
            await self._record(kept)
        if error is None:
            await self._emit({"type": "chat.done", "stopped": True, "steps": self.steps})
        else:
            await self._emit({"type": "chat.error", "code": error.code, "message": error.message})

    async def _emit(self, event: dict[str, Any]) -> None:
        event.setdefault("conversation", self.conversation)
        # The plain dicts built here are ChatEvents once they carry the conversation.
        await self._emit_event(event)  # type: ignore[arg-type]


def user_requests(history: list[ChatMessage]) -> tuple[str, str]:
    """What the user asked last, and before: the tools offered are chosen for them."""
    asked = [message.content or "" for message in history if message.role == "user"]
    if not asked:
        return "", ""
    return asked[-1], " ".join(asked[-6:-1])


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
