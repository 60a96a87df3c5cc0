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
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from django.conf import settings
from django.utils import timezone

from config.logging import redact, tenant_logging
from mcpbridge.chat_events import ChatToolErrorEvent, ChatToolResultEvent, Emit
from mcpbridge.errors import BridgeError, InvalidArguments, RateLimited, UnknownTool
from mcpbridge.ratelimit import tenant_rate_hit
from mcpbridge.registry import get_registry
from mcpbridge.toolbox import Toolbox, function_name, result_text, toolbox_build
from mcpbridge.tools import call_result_payload, tenant_tool_call
from mcpbridge.transcript import CANCELLED_RESULT, ChatMessage, ToolCall, cut, model_messages

logger = logging.getLogger(__name__)

Record = Callable[[list[ChatMessage]], Awaitable[None]]

# What storage keeps of one tool result; the model gets LLM_TOOL_RESULT_LIMIT of it.
STORED_RESULT_LIMIT = 200_000

SYSTEM_PROMPT = """\
You are the assistant of "{name}", a HighLevel (GoHighLevel) sub-account. You help its \
team with their CRM (contacts, conversations, calendars, opportunities and more) through \
the tools you are given, which act on this sub-account only.
- Look things up with the tools rather than guessing, and say so plainly when a tool fails.
- Before anything that changes data or reaches customers (sending a message, deleting, \
booking), say what you will do and ask for a confirmation, unless the user asked for \
exactly that.
- Answer concisely, in Markdown. Today is {today}."""


@dataclass(frozen=True)
class AgentConfig:
    base_url: str
    api_key: str
    model: str
    max_steps: int = 8
    timeout: float = 60.0
    max_retries: int = 1
    tool_result_limit: int = 16_000
    history_limit: int = 60_000

    @property
    def configured(self) -> bool:
        return bool(self.model)

    @classmethod
    def from_settings(cls) -> AgentConfig:
        return cls(
            base_url=settings.LLM_BASE_URL,
            api_key=settings.LLM_API_KEY,
            model=settings.LLM_MODEL,
            max_steps=settings.LLM_MAX_STEPS,
            timeout=settings.LLM_TIMEOUT,
            max_retries=settings.LLM_MAX_RETRIES,
            tool_result_limit=settings.LLM_TOOL_RESULT_LIMIT,
            history_limit=settings.LLM_HISTORY_LIMIT,
        )


# --- errors ------------------------------------------------------------------------------


class AgentError(Exception):
    """A turn that could not finish; ``message`` is fit to show the user."""

    code = "model_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ModelNotConfigured(AgentError):
    code = "model_not_configured"

    def __init__(self) -> None:
        super().__init__(
            "No model is configured for the assistant. An administrator sets LLM_MODEL "
            "(and LLM_BASE_URL, LLM_API_KEY) to enable it; the tool explorer works meanwhile."
        )


class ModelTimeout(AgentError):
    code = "model_timeout"


class ModelUnavailable(AgentError):
    code = "model_unavailable"


class ModelRejected(AgentError):
    code = "model_rejected"


class StepLimitReached(AgentError):
    code = "step_limit"


def _provider_text(exc: openai.APIError, config: AgentConfig) -> str:
    text = redact(str(exc.message or ""), [config.api_key])
    return " ".join(text.split())[:300]


def model_error(exc: openai.APIError, config: AgentConfig) -> AgentError:
    """A plain message for a failure of the model service; details go to the log."""
    logger.warning("model request failed: %s", redact(repr(exc), [config.api_key]))
    if isinstance(exc, openai.APITimeoutError):
        return _timeout(config)
    if isinstance(exc, openai.APIConnectionError):
        return ModelUnavailable("The assistant's model service could not be reached; try again.")
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ModelRejected(
            "The model service refused this hub's API key; an administrator must check "
            "LLM_API_KEY.",
            code="model_auth",
        )
    if isinstance(exc, openai.NotFoundError):
        return ModelRejected(
            f"The model service does not offer the model {config.model!r}; an administrator "
            "must check LLM_MODEL and LLM_BASE_URL.",
            code="model_not_found",
        )
    if isinstance(exc, openai.RateLimitError):
        return ModelUnavailable(
            "The model service is busy or over its quota; try again in a moment.",
            code="model_rate_limited",
        )
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return ModelUnavailable(
            f"The model service failed (HTTP {exc.status_code}); try again in a moment."
        )
    if isinstance(exc, openai.APIStatusError):
        return ModelRejected(
            f"The model service refused the request (HTTP {exc.status_code}): "
            f"{_provider_text(exc, config)}"
        )
    return ModelUnavailable(f"The model service reported an error: {_provider_text(exc, config)}")


def _timeout(config: AgentConfig) -> ModelTimeout:
    return ModelTimeout(
        f"The model did not answer within {config.timeout:g} seconds; try again in a moment."
    )


# --- the model's client ----------------------------------------------------------------

_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[AgentConfig, openai.AsyncOpenAI]
]
_clients = weakref.WeakKeyDictionary()


def model_client(config: AgentConfig) -> openai.AsyncOpenAI:
    """This event loop's client for ``config``. Kept between turns: making one costs tens of
    milliseconds (its TLS context), and its open connections spare each turn a handshake."""
    clients = _clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(config)
    if client is None:
        client = clients[config] = openai.AsyncOpenAI(
            base_url=config.base_url,
            # Local servers (Ollama, vLLM) take no key, but the SDK insists on one.
            api_key=config.api_key or "no-key",
            timeout=openai.Timeout(config.timeout, connect=min(10.0, config.timeout)),
            max_retries=config.max_retries,
        )
    return client


# --- one model response ------------------------------------------------------------------


@dataclass
class _PartialCall:
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    model_id: str = ""


@dataclass
class ModelStep:
    """What one streamed model response said: text and the tool calls asked for."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)

    def add_call_piece(self, piece: Any) -> None:
        index = getattr(piece, "index", None)
        piece_id = getattr(piece, "id", None) or ""
        if index is None:
            # Some servers leave out the index: a new id starts a new call.
            last = max(self.calls, default=-1)
            fresh = last < 0 or (piece_id and piece_id != self.calls[last].model_id)
            index = last + 1 if fresh else last
        call = self.calls.setdefault(index, _PartialCall())
        call.model_id = call.model_id or piece_id
        function = getattr(piece, "function", None)
        if function is None:
            return
        name = getattr(function, "name", None) or ""
        # Some servers repeat the whole name in every piece rather than sending it once.
        if name and name != call.name:
            call.name += name
        call.arguments.append(getattr(function, "arguments", None) or "")

    def tool_calls(self, toolbox: Toolbox) -> list[ToolCall]:
        """The calls, each with an id of ours (servers reuse ids) and its MCP tool's name."""
        return [
            ToolCall(
                id="call_" + secrets.token_hex(12),
                name=toolbox.tool_for(call.name) or call.name,
                arguments="".join(call.arguments).strip() or "{}",
            )
            for _, call in sorted(self.calls.items())
            if call.name
        ]


# --- the loop ----------------------------------------------------------------------------


async def _ignore(messages: list[ChatMessage]) -> None:
    return None


class AgentLoop:
    def __init__(
        self,
        *,
        tenant: Any,
        emit: Emit,
        record: Record | None = None,
        config: AgentConfig | None = None,
        conversation: int | None = None,
    ) -> None:
        self.tenant = tenant
        self.config = config or AgentConfig.from_settings()
        self.conversation = conversation
        self._emit_event = emit
        self._record = record or _ignore
        self.steps = 0
        # What the turn is doing now, so a stop or an error can record it.
        self._streaming: ModelStep | None = None
        self._running: list[ToolCall] = []
        self._results: dict[str, ChatMessage] = {}

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
            raise ModelNotConfigured()
        toolbox = await self._toolbox()
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
                raise StepLimitReached(
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

    async def _toolbox(self) -> Toolbox:
        try:
            async with get_registry().acquire(self.tenant) as client:
                listing = await client.list_tools()
        except BridgeError as exc:
            raise AgentError(exc.message, code=exc.code) from None
        return toolbox_build(list(listing.tools))

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
            raise _timeout(self.config) from None
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
            raise UnknownTool(f"There is no tool named {call.name[:100]!r}.")
        if isinstance(arguments, str):
            raise InvalidArguments(["arguments: not a JSON object"])
        usage = await tenant_rate_hit(tenant_id=self.tenant.pk)
        if usage is not None and usage.limited:
            raise RateLimited(retry_after=usage.reset)

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

        result = await tenant_tool_call(
            tenant=self.tenant, name=call.name, arguments=arguments, progress=progress
        )
        return call_result_payload(result)

    async def _tool_answered(
        self, call: ToolCall, payload: dict[str, Any], started: float
    ) -> ChatMessage:
        duration = _elapsed_ms(started)
        event: ChatToolResultEvent = {
            "type": "tool.result",
            "conversation": self.conversation,
            "id": call.id,
            **payload,  # type: ignore[typeddict-item]
            "duration_ms": duration,
        }
        await self._emit(event)
        text = result_text(payload["content"], payload.get("structuredContent"))
        return ChatMessage(
            role="tool",
            content=cut(text, STORED_RESULT_LIMIT),
            tool_call_id=call.id,
            tool_name=call.name,
            is_error=payload["isError"],
            duration_ms=duration,
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
        await self._emit(event)
        details = "".join(f"\n- {line}" for line in getattr(exc, "errors", []))
        return ChatMessage(
            role="tool",
            content=f"Error ({exc.code}): {exc.message}{details}",
            tool_call_id=call.id,
            tool_name=call.name,
            is_error=True,
            error_code=exc.code,
            duration_ms=duration,
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
                status="error" if error else "stopped",  # type: ignore[arg-type]
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
        await self._emit_event(event)  # type: ignore[arg-type]


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
