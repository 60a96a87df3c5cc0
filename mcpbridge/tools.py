"""Listing and calling a tenant's tools: the one path every way in (socket, HTTP, chat) takes.

Each function is one use of the tenant's child (one ``acquire``). A call first spends
one unit of the tenant's budget (:mod:`mcpbridge.ratelimit`, shared by every way in;
a refused call never reaches the child). It is then checked before anything reaches
GHL, in this order: the tool exists, the arguments fit its
input schema, the caller's scopes allow its risk, and a person approved it where the
way in asks for that (the chat). Every call past the budget, refused or not, ends as
one entry of the tenant's audit log.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import mcp_types as types
from jsonschema import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from config.errors import HubError
from mcpbridge.audit import AuditItem, audit_submit
from mcpbridge.policy import call_risk, scope_check, tool_risk
from mcpbridge.ratelimit import RateUsage, tenant_rate_hit
from mcpbridge.registry import get_registry
from mcpbridge.supervisor.errors import (
    BridgeError,
    InvalidArgumentsError,
    RateLimitedError,
    UnknownToolError,
)
from tenants.access import ALL_SCOPES
from tenants.audit import Actor, audit_arguments_text

if TYPE_CHECKING:
    from tenants.models import Tenant

ProgressCallback = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass(frozen=True)
class Approval:
    """A person's answer to a call that needed one: ``approved``, ``declined``,
    ``timeout`` or ``stopped``, by whom and when."""

    decision: str
    by: str = ""
    at: datetime | None = None

    @property
    def approved(self) -> bool:
        return self.decision == "approved"


#: Asks a person about a call of ``risk`` before it goes out.
Approver = Callable[[types.Tool, dict[str, Any], str], Awaitable[Approval]]


@dataclass(frozen=True)
class CallContext:
    """Who is calling and through which way in: what the checks and the audit log need."""

    way_in: str
    actor: Actor = field(default_factory=Actor)
    scopes: frozenset[str] = ALL_SCOPES
    conversation: int | None = None
    #: Risks that need ``approve``'s yes first (the tenant's policy, on ways in that ask).
    approval_risks: frozenset[str] = frozenset()
    approve: Approver | None = None
    #: Told the tenant's budget once the call has spent it (the HTTP rate headers).
    budget_seen: Callable[[RateUsage | None], None] | None = None


class ApprovalDeclinedError(BridgeError):
    code = "declined"
    default_message = "The user declined this call; nothing was done."
    permanent = True


MAX_ARGUMENT_ERRORS = 10


def tool_summary(tool: types.Tool) -> dict[str, Any]:
    """A tool as the ways in show it: MCP's own field names, nothing empty."""
    summary: dict[str, Any] = {"name": tool.name, "inputSchema": tool.input_schema}
    if tool.title:
        summary["title"] = tool.title
    if tool.description:
        summary["description"] = tool.description
    if tool.annotations is not None:
        summary["annotations"] = tool.annotations.model_dump(
            by_alias=True, mode="json", exclude_none=True
        )
    summary["risk"] = tool_risk(tool)
    return summary


def call_result_payload(result: types.CallToolResult) -> dict[str, Any]:
    """A tool's result as the ways in send it: ``content``, ``isError`` (and any structure)."""
    payload: dict[str, Any] = {
        "content": [
            block.model_dump(by_alias=True, mode="json", exclude_none=True)
            for block in result.content
        ],
        "isError": bool(result.is_error),
    }
    if result.structured_content is not None:
        payload["structuredContent"] = result.structured_content
    return payload


def call_error_payload(exc: BridgeError | HubError) -> dict[str, Any]:
    """A failure as the ways in send it: ``code``, ``message``, and ``retry_after`` (whole
    seconds) or ``errors`` where they apply. Both families have the same shape."""
    payload: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.retry_after is not None:
        payload["retry_after"] = max(1, math.ceil(exc.retry_after))
    if isinstance(exc, InvalidArgumentsError):
        payload["errors"] = exc.errors
    return payload


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Validator | None:
    schema = json.loads(schema_json)
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError:
        # The child advertised a schema no validator understands: let the child judge.
        return None
    return cls(schema)


#: Deeper arguments are refused before anything walks them (no GHL body nests this far).
MAX_ARGUMENT_DEPTH = 32


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value``, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level <= MAX_ARGUMENT_DEPTH:
                stack.extend((child, level + 1) for child in item)
    return deepest


def arguments_check(schema: dict[str, Any], arguments: dict[str, Any]) -> None:
    """Raise ``InvalidArgumentsError`` listing how ``arguments`` break ``schema``."""
    if _depth(arguments) > MAX_ARGUMENT_DEPTH:
        raise InvalidArgumentsError(
            [f"arguments: nested deeper than {MAX_ARGUMENT_DEPTH} levels of lists and objects"]
        )
    validator = _validator(json.dumps(schema, sort_keys=True))
    if validator is None:
        return
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.path)))
    if errors:
        raise InvalidArgumentsError(
            [
                f"{'.'.join(map(str, e.path)) or 'arguments'}: {e.message[:200]}"
                for e in errors[:MAX_ARGUMENT_ERRORS]
            ]
        )


def _tool_named(tools: types.ListToolsResult, name: str) -> types.Tool:
    for tool in tools.tools:
        if tool.name == name:
            return tool
    raise UnknownToolError(f"This account has no tool named {name[:100]!r}.")


async def tenant_tools_list(*, tenant: Tenant) -> list[dict[str, Any]]:
    """The tools of ``tenant``'s child, as :func:`tool_summary` shows them."""
    async with get_registry().acquire(tenant) as client:
        listing = await client.list_tools()
    return [tool_summary(tool) for tool in listing.tools]


async def tenant_tool_call(
    *,
    tenant: Tenant,
    name: str,
    arguments: dict[str, Any],
    context: CallContext,
    progress: ProgressCallback | None = None,
    started: Callable[[], Awaitable[None]] | None = None,
) -> types.CallToolResult:
    """Call ``name`` on ``tenant``'s child once every check has passed (module docstring).

    ``started`` is awaited once every check has passed, just before the call goes out.
    Over the tenant's budget it raises :class:`RateLimitedError`.
    """
    await _budget_spend(tenant, context)
    began = time.perf_counter()
    entry = AuditItem(
        tenant_id=tenant.pk,
        actor=context.actor.name,
        user_id=context.actor.user_id,
        api_token_id=context.actor.api_token_id,
        way_in=context.way_in,
        outcome="error",
        # PostgreSQL stores no NUL character; the name may be anything a caller sent.
        tool=name.replace("\x00", "")[:200],
        arguments=audit_arguments_text(arguments),
        conversation_id=context.conversation,
    )
    try:
        result = await _checked_call(tenant, name, arguments, context, entry, progress, started)
    except BridgeError as exc:
        entry.outcome = exc.code
        raise
    except BaseException:
        entry.outcome = "cancelled"
        raise
    else:
        entry.outcome = "tool_error" if result.is_error else "ok"
        return result
    finally:
        entry.duration_ms = round((time.perf_counter() - began) * 1000)
        audit_submit(entry)


async def _budget_spend(tenant: Tenant, context: CallContext) -> None:
    usage = await tenant_rate_hit(tenant_id=tenant.pk)
    if context.budget_seen is not None:
        context.budget_seen(usage)
    if usage is not None and usage.limited:
        raise RateLimitedError(retry_after=usage.reset)


async def _approved(
    approve: Approver, tool: types.Tool, arguments: dict[str, Any], risk: str, entry: AuditItem
) -> None:
    entry.approval_needed = True
    try:
        approval = await approve(tool, arguments, risk)
    except asyncio.CancelledError:
        entry.approval_decision = "stopped"
        raise
    entry.approval_decision = approval.decision
    entry.approved_by, entry.approved_at = approval.by, approval.at
    if not approval.approved:
        raise ApprovalDeclinedError(
            "No one approved this call in time; nothing was done."
            if approval.decision == "timeout"
            else None
        )


async def _checked_call(
    tenant: Any,
    name: str,
    arguments: dict[str, Any],
    context: CallContext,
    entry: AuditItem,
    progress: ProgressCallback | None,
    started: Callable[[], Awaitable[None]] | None,
) -> types.CallToolResult:
    async with get_registry().acquire(tenant) as client:
        tool = _tool_named(await client.list_tools(), name)
        arguments_check(tool.input_schema, arguments)
        entry.risk = risk = call_risk(tool, arguments)
        scope_check(risk=risk, scopes=context.scopes)
        if context.approve is not None and risk in context.approval_risks:
            await _approved(context.approve, tool, arguments, risk, entry)
        if started is not None:
            await started()
        return await client.call_tool(name, arguments, progress_callback=progress)
