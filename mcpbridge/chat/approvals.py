"""A person's approval of a risky tool call in the chat, from any window on any worker.

The turn that needs an approval registers it in the shared cache (who may answer, for
which tenant) and waits on a channel of the channel layer; a ``tool.approve`` from any
socket of that user, on any worker, is checked against the cache and sent to the
waiting turn through a group named for the call. No answer within
``CHAT_APPROVAL_TIMEOUT`` counts as declined; a stopped turn declines it too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import mcp_types as types
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.utils import timezone

from mcpbridge.policy import call_summary
from mcpbridge.registry import get_registry
from mcpbridge.supervisor.errors import BridgeError
from mcpbridge.tools import Approval, CallContext, tenant_tool_call
from tenants.audit import Actor
from tenants.models import AuditEntry

logger = logging.getLogger(__name__)

APPROVED, DECLINED, TIMEOUT, STOPPED = "approved", "declined", "timeout", "stopped"
_MESSAGE_TYPE = "chat.approval"


@dataclass(frozen=True)
class PendingApproval:
    conversation: int
    call_id: str
    user_id: int
    tenant_id: int

    @property
    def group(self) -> str:
        digest = hashlib.sha256(self.call_id.encode()).hexdigest()[:24]
        return f"chat-approval.{self.conversation}.{digest}"

    @property
    def cache_key(self) -> str:
        return _cache_key(self.conversation, self.call_id)


def _cache_key(conversation: int, call_id: str) -> str:
    digest = hashlib.sha256(call_id.encode()).hexdigest()[:24]
    return f"chat-approval:{conversation}:{digest}"


def _decision(message: dict[str, Any], pending: PendingApproval) -> Approval | None:
    if message.get("type") != _MESSAGE_TYPE or message.get("user") != pending.user_id:
        return None
    decision = APPROVED if message.get("decision") == "approve" else DECLINED
    at = message.get("at")
    return Approval(
        decision=decision,
        by=str(message.get("by", ""))[:200],
        at=datetime.fromisoformat(at) if isinstance(at, str) else timezone.now(),
    )


async def approval_wait(
    pending: PendingApproval,
    *,
    within: float,
    details: dict[str, Any],
    announce: Callable[[], Awaitable[None]],
) -> Approval:
    """Wait for the user's answer to ``pending``; ``details`` is what another window needs
    to show the card (kept in the cache while the call waits).

    ``announce`` shows the card; it runs once the call is registered, so an answer sent
    the moment the card appears finds its waiter. A stop at any point (even while the
    call is being registered) leaves nothing behind in the cache or the group.
    """
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("approvals need a channel layer (CHANNEL_LAYERS)")
    channel = await layer.new_channel()
    try:
        await layer.group_add(pending.group, channel)
        record = {"user": pending.user_id, "tenant": pending.tenant_id, **details}
        await cache.aset(pending.cache_key, record, timeout=int(within) + 60)
        await announce()
        answer = asyncio.ensure_future(_answer(layer, channel, pending))
        try:
            done, _ = await asyncio.wait({answer}, timeout=within)
        finally:
            _stop(answer)
        return answer.result() if done else Approval(decision=TIMEOUT, at=timezone.now())
    finally:
        await asyncio.shield(_forget(layer, pending, channel))


def _stop(task: asyncio.Future[Any]) -> None:
    """Cancel ``task``, again each second until it ends: a cancellation that reaches the
    channel layer's read at the wrong moment can be lost, and its read then starts over."""
    if not task.done():
        task.cancel()
        asyncio.get_running_loop().call_later(1.0, _stop, task)


async def _answer(layer: Any, channel: str, pending: PendingApproval) -> Approval:
    # Its own task, raced by the caller rather than awaited: a stop never waits on the
    # channel layer's blocking read.
    while True:
        approval = _decision(await layer.receive(channel), pending)
        if approval is not None:
            return approval


async def _forget(layer: Any, pending: PendingApproval, channel: str) -> None:
    try:
        await layer.group_discard(pending.group, channel)
        await cache.adelete(pending.cache_key)
    except Exception:
        # The cache entry expires by itself; an answer after this finds no waiter.
        logger.warning("could not clear the approval of call %s", pending.call_id)


async def approval_pending(*, conversation: int, call_id: str) -> dict[str, Any] | None:
    """What the cache holds of a call waiting for approval, or None."""
    record = await cache.aget(_cache_key(conversation, call_id))
    return record if isinstance(record, dict) else None


def approvals_waiting(*, conversation: int, call_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The approvals still waiting among ``call_ids``, for a page being drawn."""
    if not call_ids:
        return {}
    keys = {_cache_key(conversation, call_id): call_id for call_id in call_ids}
    found = cache.get_many(list(keys))
    return {keys[key]: record for key, record in found.items() if isinstance(record, dict)}


async def approval_decide(
    *, conversation: int, call_id: str, user_id: int, tenant_id: int, decision: str, by: str
) -> bool:
    """Send ``decision`` ("approve" or "reject") to the turn waiting on the call.

    False when no call of this user and tenant is waiting (unknown, answered or expired).
    """
    record = await approval_pending(conversation=conversation, call_id=call_id)
    if record is None or record.get("user") != user_id or record.get("tenant") != tenant_id:
        return False
    layer = get_channel_layer()
    if layer is None:
        return False
    pending = PendingApproval(conversation, call_id, user_id, tenant_id)
    message = {
        "type": _MESSAGE_TYPE,
        "decision": decision,
        "user": user_id,
        "by": by,
        "at": timezone.now().isoformat(),
    }
    await layer.group_send(pending.group, message)
    return True


# --- what the card says ------------------------------------------------------------------

_LOOKUP_TIMEOUT = 5.0
_NAME_KEYS = ("name", "contactName", "fullName", "title", "subject")


def _lookup_tool(name: str) -> str | None:
    verb, _, noun = name.partition("_")
    return (
        f"get_{noun}" if noun and verb in {"delete", "update", "cancel", "remove", "void"} else None
    )


def _name_in(value: Any, depth: int = 0) -> str | None:
    if not isinstance(value, dict) or depth > 2:
        return None
    first, last = value.get("firstName"), value.get("lastName")
    if isinstance(first, str) or isinstance(last, str):
        joined = " ".join(part for part in (first, last) if isinstance(part, str) and part)
        if joined:
            return joined[:100]
    for key in _NAME_KEYS:
        if isinstance(value.get(key), str) and value[key]:
            return str(value[key])[:100]
    for item in value.values():
        found = _name_in(item, depth + 1)
        if found:
            return found
    return None


async def _record_name(
    tenant: Any, user: Any, tool_name: str, arguments: dict[str, Any]
) -> str | None:
    """The name of the record a risky call is about, read with the matching ``get_`` tool."""
    lookup = _lookup_tool(tool_name)
    if lookup is None:
        return None
    async with get_registry().acquire(tenant) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    getter = tools.get(lookup)
    if getter is None:
        return None
    required = getter.input_schema.get("required", [])
    if not required or any(key not in arguments for key in required):
        return None
    context = CallContext(way_in=AuditEntry.WayIn.CHAT, actor=Actor.of(user=user))
    try:
        async with asyncio.timeout(_LOOKUP_TIMEOUT):
            result = await tenant_tool_call(
                tenant=tenant,
                name=lookup,
                arguments={key: arguments[key] for key in required},
                context=context,
            )
    except (BridgeError, TimeoutError):
        return None
    if result.is_error:
        return None
    if isinstance(result.structured_content, dict):
        return _name_in(result.structured_content)
    for block in result.content:
        text = getattr(block, "text", None)
        if text:
            try:
                return _name_in(json.loads(text))
            except ValueError:
                return None
    return None


async def approval_summary(
    tenant: Any, user: Any, tool: types.Tool, arguments: dict[str, Any]
) -> str:
    """The sentence the approval card shows: "Delete contact Bob Lee (ct_123)"."""
    record = await _record_name(tenant, user, tool.name, arguments)
    return call_summary(tool.name, arguments, record=record)
