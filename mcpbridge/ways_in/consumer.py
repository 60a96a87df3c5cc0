"""``ws/tenants/<slug>/``: a tenant's tools over a websocket (protocol: docs/websocket.md).

The consumer authenticates once at connect (outsiders are closed with 4401 or 4404),
then answers each message type with its own handler. Calls run as tasks, several at
once under their own ids; each re-checks the caller's rights and the tenant's budget,
uses the tenant's child for that call only, and is cancelled if the socket goes. A
chat turn (``mcpbridge.chat.turns``) runs as one more task, one at a time per socket (and
per conversation: ``mcpbridge.chat.leases``); ``chat.stop`` or a disconnect cancels it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from config.errors import HubError
from config.jsonapi import json_text_loads, unexpected_error
from config.logging import tenant_logging
from mcpbridge.chat.approvals import approval_decide
from mcpbridge.chat.events import ChatDoneEvent, ChatErrorEvent, ChatEvent, Emit
from mcpbridge.chat.turns import chat_turn
from mcpbridge.supervisor.errors import BridgeError
from mcpbridge.tools import (
    CallContext,
    call_error_payload,
    call_result_payload,
    tenant_tool_call,
    tenant_tools_list,
)
from mcpbridge.ways_in.callers import (
    Caller,
    NotAuthenticatedError,
    caller_access,
    caller_actor,
    caller_from_user,
    caller_refresh,
)
from mcpbridge.ways_in.middleware import header
from mcpbridge.ways_in.payloads import (
    CallCancelMessage,
    CallId,
    ChatSendMessage,
    ChatStopMessage,
    ErrorEvent,
    MessageError,
    ToolApproveMessage,
    ToolErrorEvent,
    ToolProgressEvent,
    ToolResultEvent,
    ToolsCallMessage,
    ToolsListMessage,
    ToolsListResultEvent,
    ToolStartedEvent,
    message_parse,
)
from tenants.access import TenantAccess
from tenants.models import AuditEntry, Membership

if TYPE_CHECKING:
    from channels.consumer import _ChannelScope

    class _ToolsScope(_ChannelScope, total=False):
        # Set by ApiTokenAuthMiddleware for a bearer token.
        token_caller: Caller | None
        token_error: str | None


logger = logging.getLogger(__name__)


CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


class FrameBudget:
    """A token bucket of frames: ``rate`` a second, bursts of up to ``rate``."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.tokens = float(rate)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class ChatTurn:
    """A ``chat.send`` being answered; ``ended`` once its ``chat.done`` or ``chat.error``
    went out (every turn ends with one)."""

    conversation: int | None
    ended: bool = False


class CallDeniedError(HubError):
    permanent = True

    def __init__(self, code: str, message: str, *, close_code: int | None = None) -> None:
        super().__init__(message, code=code)
        self.close_code = close_code


class ToolsConsumer(AsyncJsonWebsocketConsumer):
    scope: _ToolsScope

    # A socket talks to no other process: no channel layer, which on Redis would keep a
    # blocking read open per socket. An alias with no layer gives the consumer none;
    # the stubs allow only a name.
    channel_layer_alias = None  # type: ignore[assignment]

    async def connect(self) -> None:
        self.slug: str = self.scope["url_route"]["kwargs"]["slug"]
        self.calls: dict[CallId, asyncio.Task[None]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.frames = FrameBudget(settings.WS_MAX_FRAMES_PER_SECOND)
        self.chat: asyncio.Task[None] | None = None
        self.closed = False
        # Accept first: a close code sent before accepting never reaches the client.
        await self.accept()
        try:
            self.caller = self._caller()
            await caller_access(self.caller, self.slug, min_role=Membership.Role.VIEWER)
        except NotAuthenticatedError:
            await self._close(CLOSE_UNAUTHENTICATED)
        except Http404:
            await self._close(CLOSE_NOT_FOUND)

    def _caller(self) -> Caller:
        token_caller = self.scope.get("token_caller")
        if token_caller is not None:
            return token_caller
        token_error = self.scope.get("token_error")
        if token_error:
            raise NotAuthenticatedError(token_error)
        # Only a browser (which always sends Origin, checked by the middleware) may use
        # the cookie: a program must present a token.
        if header(self.scope, b"origin") is None:
            raise NotAuthenticatedError()
        session = self.scope.get("session")
        key = session.session_key if session is not None else None
        return caller_from_user(self.scope.get("user"), session_key=key)

    async def disconnect(self, code: int) -> None:
        self.closed = True
        pending = [*self.calls.values(), *self.tasks]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _close(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            await self.close(code)
        for task in [*self.calls.values(), *self.tasks]:
            if task is not asyncio.current_task():
                task.cancel()

    # --- frames -----------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.closed:
            return
        if not self.frames.take():
            await self._error(
                "too_many_frames", "Too many messages; this one was dropped.", retry_after=1
            )
            return
        if text_data is None:
            await self._error("invalid_message", "Send text frames holding JSON.")
            return
        limit = settings.WS_MAX_FRAME_BYTES
        if len(text_data) > limit or len(text_data.encode("utf-8")) > limit:
            await self._error("frame_too_large", f"A message may be at most {limit} bytes.")
            return
        try:
            content = json_text_loads(text_data)
        except (ValueError, RecursionError):
            await self._error("invalid_json", "A message must be JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        try:
            message = message_parse(content)
        except MessageError as exc:
            await self._error(exc.code, exc.message, call_id=exc.call_id)
            return
        if message["type"] == "tools.list":
            await self.tools_list(message)
        elif message["type"] == "tools.call":
            await self.tools_call(message)
        elif message["type"] == "chat.send":
            await self.chat_send(message)
        elif message["type"] == "chat.stop":
            await self.chat_stop(message)
        elif message["type"] == "tool.approve":
            await self.tool_approve(message)
        else:
            await self.call_cancel(message)

    # --- one handler per message type ------------------------------------------------------

    async def tools_list(self, message: ToolsListMessage) -> None:
        self._spawn(self._list(message))

    async def tools_call(self, message: ToolsCallMessage) -> None:
        call_id = message["id"]
        if call_id in self.calls:
            await self._error("duplicate_id", "A call with this id is running.", call_id=call_id)
            return
        if len(self.calls) >= settings.WS_MAX_CALLS_IN_FLIGHT:
            await self._tool_error(
                call_id,
                "too_many_calls",
                f"At most {settings.WS_MAX_CALLS_IN_FLIGHT} calls may run at once on a socket.",
            )
            return
        task = asyncio.create_task(self._call(message))
        self.calls[call_id] = task
        task.add_done_callback(lambda done: self._call_done(call_id, done))

    async def call_cancel(self, message: CallCancelMessage) -> None:
        task = self.calls.get(message["id"])
        if task is None or task.done():
            await self._error(
                "unknown_call", "No call with this id is running.", call_id=message["id"]
            )
            return
        task.cancel()

    async def chat_send(self, message: ChatSendMessage) -> None:
        if self.chat is not None and not self.chat.done():
            await self._chat_error(
                message["conversation"], "busy", "Wait for the answer, or stop it, first."
            )
            return
        turn = ChatTurn(message["conversation"])
        self.chat = asyncio.create_task(self._chat(message, turn))
        self.tasks.add(self.chat)
        self.chat.add_done_callback(self.tasks.discard)
        self.chat.add_done_callback(lambda done: self._chat_done(turn, done))

    async def chat_stop(self, message: ChatStopMessage) -> None:
        if self.chat is None or self.chat.done():
            await self._error("not_running", "No answer is being written.")
            return
        self.chat.cancel()

    async def tool_approve(self, message: ToolApproveMessage) -> None:
        self._spawn(self._approve(message))

    # --- the work ------------------------------------------------------------------------

    def _call_done(self, call_id: CallId, task: asyncio.Task[None]) -> None:
        if self.calls.get(call_id) is task:
            del self.calls[call_id]
        # Here rather than in the task: a task cancelled before it ran never sees it.
        if task.cancelled() and not self.closed:
            self._spawn(self._tool_error(call_id, "cancelled", "The call was cancelled."))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _access(self, min_role: str) -> TenantAccess:
        """The caller's rights now, not at connect: each event re-checks them."""
        try:
            self.caller = await caller_refresh(self.caller)
            return await caller_access(self.caller, self.slug, min_role=min_role)
        except NotAuthenticatedError as exc:
            raise CallDeniedError(
                "unauthenticated", exc.message, close_code=CLOSE_UNAUTHENTICATED
            ) from None
        except Http404:
            raise CallDeniedError(
                "not_found", "No such tenant.", close_code=CLOSE_NOT_FOUND
            ) from None
        except PermissionDenied as exc:
            raise CallDeniedError(
                "forbidden", str(exc) or "Your role does not allow this."
            ) from None

    async def _list(self, message: ToolsListMessage) -> None:
        try:
            access = await self._access(Membership.Role.VIEWER)
            with tenant_logging(access.tenant.slug):
                tools = await tenant_tools_list(tenant=access.tenant)
        except CallDeniedError as exc:
            await self._error(exc.code, exc.message, call_id=message.get("id"))
            await self._close_for(exc)
            return
        except BridgeError as exc:
            await self._error(**call_error_payload(exc), call_id=message.get("id"))
            return
        except Exception as exc:
            error = unexpected_error(exc, "tool list")
            await self._error(**call_error_payload(error), call_id=message.get("id"))
            return
        event: ToolsListResultEvent = {"type": "tools.list.result", "tools": tools}
        if "id" in message:
            event["id"] = message["id"]
        await self._send(event)

    async def _call(self, message: ToolsCallMessage) -> None:
        call_id = message["id"]
        try:
            access = await self._access(Membership.Role.MEMBER)
            with tenant_logging(access.tenant.slug):
                await self._run(access, message)
        except CallDeniedError as exc:
            await self._tool_error(call_id, exc.code, exc.message)
            await self._close_for(exc)
        except BridgeError as exc:
            await self._tool_error(call_id, **call_error_payload(exc))
        except Exception as exc:
            # Every call ends with one answer, whatever failed below.
            error = unexpected_error(exc, "tool call")
            await self._tool_error(call_id, **call_error_payload(error))

    async def _chat(self, message: ChatSendMessage, turn: ChatTurn) -> None:
        async def emit(event: ChatEvent) -> None:
            turn.ended = turn.ended or event["type"] in ("chat.done", "chat.error")
            await self._send(event)

        await self._chat_turn(message, emit)

    def _chat_done(self, turn: ChatTurn, task: asyncio.Task[None]) -> None:
        # A turn stopped before it was under way (rights being checked, the conversation
        # being opened, or not yet started) said nothing: it still ends, as stopped. Here
        # rather than in the task: a task cancelled before it ran never sees it.
        if task.cancelled() and not turn.ended and not self.closed:
            done: ChatDoneEvent = {
                "type": "chat.done",
                "conversation": turn.conversation,
                "stopped": True,
                "steps": 0,
            }
            self._spawn(self._send(done))

    async def _chat_turn(self, message: ChatSendMessage, emit: Emit) -> None:
        conversation = message["conversation"]
        try:
            await self._chat_checked(message, emit)
        except CallDeniedError as exc:
            await emit(_chat_error_event(conversation, exc.code, exc.message))
            await self._close_for(exc)
        except Exception as exc:
            # Every chat.send ends with chat.done or chat.error, whatever failed below.
            error = unexpected_error(exc, "chat turn")
            await emit(
                _chat_error_event(conversation, error.code, error.message, error.retry_after)
            )

    async def _chat_checked(self, message: ChatSendMessage, emit: Emit) -> None:
        conversation = message["conversation"]
        access = await self._access(Membership.Role.MEMBER)
        if self.caller.user is None:
            # Conversations belong to a person; a program calls the tools directly.
            await emit(_chat_error_event(conversation, "forbidden", "Chat needs a signed-in user."))
            return
        with tenant_logging(access.tenant.slug):
            await chat_turn(
                tenant=access.tenant,
                user=self.caller.user,
                conversation_id=conversation,
                text=message["text"],
                emit=emit,
            )

    async def _approve(self, message: ToolApproveMessage) -> None:
        """A person's answer to a call the chat paused on: only the turn's own user, and only
        while they are a member of the tenant, may give it."""
        try:
            await self._approve_checked(message)
        except CallDeniedError as exc:
            await self._error(exc.code, exc.message, call_id=message["id"])
            await self._close_for(exc)
        except Exception as exc:
            error = unexpected_error(exc, "approval")
            await self._error(**call_error_payload(error), call_id=message["id"])

    async def _approve_checked(self, message: ToolApproveMessage) -> None:
        access = await self._access(Membership.Role.MEMBER)
        user = self.caller.user
        sent = user is not None and await approval_decide(
            conversation=message["conversation"],
            call_id=message["id"],
            user_id=user.pk,
            tenant_id=access.tenant.pk,
            decision=message["decision"],
            by=caller_actor(self.caller).name,
        )
        if not sent:
            await self._error(
                "unknown_approval",
                "No call of yours is waiting for this approval (answered, stopped or expired).",
                call_id=message["id"],
            )

    async def _run(self, access: TenantAccess, message: ToolsCallMessage) -> None:
        call_id = message["id"]

        async def started() -> None:
            event: ToolStartedEvent = {
                "type": "tool.started",
                "id": call_id,
                "name": message["name"],
            }
            await self._send(event)

        async def progress(done: float, total: float | None, text: str | None) -> None:
            event: ToolProgressEvent = {
                "type": "tool.progress",
                "id": call_id,
                "progress": done,
                "total": total,
                "message": text,
            }
            await self._send(event)

        way_in = AuditEntry.WayIn.WEBSOCKET if self.caller.uses_token else AuditEntry.WayIn.EXPLORER
        result = await tenant_tool_call(
            tenant=access.tenant,
            name=message["name"],
            arguments=message["arguments"],
            context=CallContext(
                way_in=way_in, actor=caller_actor(self.caller), scopes=access.scopes
            ),
            progress=progress,
            started=started,
        )
        event: ToolResultEvent = {
            "type": "tool.result",
            "id": call_id,
            # call_result_payload is a plain dict: its keys are ToolResultEvent's.
            **call_result_payload(result),  # type: ignore[typeddict-item]
        }
        await self._send(event)

    # --- sending ---------------------------------------------------------------------------

    async def _send(self, event: Any) -> None:
        if not self.closed:
            await self.send_json(event)

    async def _close_for(self, exc: CallDeniedError) -> None:
        if exc.close_code is not None:
            await self._close(exc.close_code)

    async def _tool_error(self, call_id: CallId, code: str, message: str, **extra: Any) -> None:
        """``extra``: the ``retry_after`` or ``errors`` of :func:`call_error_payload`."""
        event: ToolErrorEvent = {
            "type": "tool.error",
            "id": call_id,
            "code": code,
            "message": message,
            # The callers pass only retry_after or errors, both optional ToolErrorEvent keys.
            **extra,  # type: ignore[typeddict-item]
        }
        await self._send(event)

    async def _chat_error(self, conversation: int | None, code: str, message: str) -> None:
        await self._send(_chat_error_event(conversation, code, message))

    async def _error(
        self,
        code: str,
        message: str,
        *,
        call_id: CallId | None = None,
        **extra: Any,
    ) -> None:
        event: ErrorEvent = {
            "type": "error",
            "code": code,
            "message": message,
            # The callers pass only optional ErrorEvent keys (retry_after, errors).
            **extra,  # type: ignore[typeddict-item]
        }
        if call_id is not None:
            event["id"] = call_id
        await self._send(event)


def _chat_error_event(
    conversation: int | None, code: str, message: str, retry_after: float | None = None
) -> ChatErrorEvent:
    event: ChatErrorEvent = {
        "type": "chat.error",
        "conversation": conversation,
        "code": code,
        "message": message,
    }
    if retry_after is not None:
        event["retry_after"] = retry_after
    return event
