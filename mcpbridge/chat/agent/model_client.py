"""The assistant's model: its settings, the OpenAI-compatible client, its errors, one streamed step.

Any chat-completions endpoint that speaks OpenAI's protocol will do (OpenAI, Azure,
OpenRouter, Ollama, vLLM). The loop (``loop.py``) drives it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from dataclasses import dataclass, field
from typing import Any

import openai
from django.conf import settings

from config.errors import HubError
from config.logging import redact
from mcpbridge.chat.agent.toolbox import Toolbox
from mcpbridge.chat.transcript import ToolCall

logger = logging.getLogger(__name__)

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
    max_tools: int = 64

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
            max_tools=settings.LLM_MAX_TOOLS,
        )


# --- errors ------------------------------------------------------------------------------


class AgentError(HubError):
    """A turn that could not finish; ``message`` is fit to show the user."""

    code = "model_error"


class ModelNotConfiguredError(AgentError):
    code = "model_not_configured"

    def __init__(self) -> None:
        super().__init__(
            "No model is configured for the assistant. An administrator sets LLM_MODEL "
            "(and LLM_BASE_URL, LLM_API_KEY) to enable it; the tool explorer works meanwhile."
        )


class ModelTimeoutError(AgentError):
    code = "model_timeout"


class ModelUnavailableError(AgentError):
    code = "model_unavailable"


class ModelRejectedError(AgentError):
    code = "model_rejected"


class StepLimitReachedError(AgentError):
    code = "step_limit"


def _provider_text(exc: openai.APIError, config: AgentConfig) -> str:
    text = redact(str(exc.message or ""), [config.api_key])
    return " ".join(text.split())[:300]


def model_error(exc: openai.APIError, config: AgentConfig) -> AgentError:
    """A plain message for a failure of the model service; details go to the log."""
    logger.warning("model request failed: %s", redact(repr(exc), [config.api_key]))
    if isinstance(exc, openai.APITimeoutError):
        return model_timeout(config)
    if isinstance(exc, openai.APIConnectionError):
        return ModelUnavailableError(
            "The assistant's model service could not be reached; try again."
        )
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return ModelRejectedError(
            "The model service refused this hub's API key; an administrator must check "
            "LLM_API_KEY.",
            code="model_auth",
        )
    if isinstance(exc, openai.NotFoundError):
        return ModelRejectedError(
            f"The model service does not offer the model {config.model!r}; an administrator "
            "must check LLM_MODEL and LLM_BASE_URL.",
            code="model_not_found",
        )
    if isinstance(exc, openai.RateLimitError):
        return ModelUnavailableError(
            "The model service is busy or over its quota; try again in a moment.",
            code="model_rate_limited",
        )
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return ModelUnavailableError(
            f"The model service failed (HTTP {exc.status_code}); try again in a moment."
        )
    if isinstance(exc, openai.APIStatusError):
        return ModelRejectedError(
            f"The model service refused the request (HTTP {exc.status_code}): "
            f"{_provider_text(exc, config)}"
        )
    return ModelUnavailableError(
        f"The model service reported an error: {_provider_text(exc, config)}"
    )


def model_timeout(config: AgentConfig) -> ModelTimeoutError:
    return ModelTimeoutError(
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
