"""What a tool call can do, and who must agree to it: risk, scopes and approvals.

Every tool gets one risk from its MCP annotations: ``read`` (``readOnlyHint``),
``outbound`` (it reaches a customer: our ``_meta`` key :data:`RISK_META_KEY` says so),
``write`` (``destructiveHint: false``), else ``destructive``: MCP's own default for a
tool that is not read-only, so a server that says nothing is treated as the riskiest
kind that is not outbound. ``call_operation`` of the GHL server runs any catalogued
operation, so one call's risk is that operation's (its ``_meta`` says so).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import mcp_types as types

from mcpbridge.supervisor.errors import BridgeError
from tenants.models import DESTRUCTIVE, READ, TOOL_RISKS, WRITE

#: A tool's ``_meta`` key naming its risk outright (one of ``TOOL_RISKS``).
RISK_META_KEY = "ghl-agent-hub/risk"
#: A tool's ``_meta`` key naming the argument whose GHL operation sets one call's risk.
RISK_FROM_META_KEY = "ghl-agent-hub/risk-from"
_OPERATION_TOOL = "call_operation"
# The record a call is about: the first argument whose name says it is an id.
_ID_ARGUMENT = re.compile(r"(^|_)id$|Id$")


class InsufficientScopeError(BridgeError):
    code = "insufficient_scope"
    default_message = "This API token may not call tools of this kind."
    permanent = True


def tool_risk(tool: types.Tool) -> str:
    """The risk of ``tool`` from its annotations (see the module's docstring)."""
    meta = tool.meta or {}
    claimed = meta.get(RISK_META_KEY)
    if claimed in TOOL_RISKS:
        return str(claimed)
    hints = tool.annotations
    if hints is not None and hints.read_only_hint:
        return READ
    if hints is not None and hints.destructive_hint is False:
        return WRITE
    return DESTRUCTIVE


@lru_cache(maxsize=1)
def _ghl_operation_risks() -> dict[str, str]:
    # Imported late: only a web worker that sees a call_operation pays for the catalogue.
    from mcpbridge.ghl.catalogue import catalogue_load
    from mcpbridge.ghl.risk import operation_risk

    return {operation.id: operation_risk(operation) for operation in catalogue_load()}


def call_risk(tool: types.Tool, arguments: dict[str, Any]) -> str:
    """The risk of calling ``tool`` with ``arguments``: the tool's own, or, for a tool whose
    ``_meta`` names an argument (:data:`RISK_FROM_META_KEY`), that of the GHL operation the
    argument names; an unknown operation keeps the tool's own (the riskiest it can do)."""
    source = (tool.meta or {}).get(RISK_FROM_META_KEY)
    named = arguments.get(source) if isinstance(source, str) else None
    if isinstance(named, str):
        risk = _ghl_operation_risks().get(named)
        if risk is not None:
            return risk
    return tool_risk(tool)


def scope_check(*, risk: str, scopes: frozenset[str]) -> None:
    """Raise ``InsufficientScopeError`` unless ``scopes`` allow a call of ``risk``."""
    if risk not in scopes:
        raise InsufficientScopeError(
            f"This API token may not call {risk} tools; its scopes are "
            f"{', '.join(r for r in TOOL_RISKS if r in scopes) or 'none'}."
        )


def record_id(arguments: dict[str, Any]) -> str | None:
    """The id of the record a call is about, if an argument names one."""
    for name, value in arguments.items():
        if _ID_ARGUMENT.search(name) and isinstance(value, str | int) and str(value):
            return str(value)[:100]
    return None


def call_summary(name: str, arguments: dict[str, Any], *, record: str | None = None) -> str:
    """A plain sentence for a person to approve: "Delete contact Bob Lee (ct_123)"."""
    if name == _OPERATION_TOOL and isinstance(arguments.get("operationId"), str):
        inner = arguments.get("arguments")
        return call_summary(
            arguments["operationId"].split(".")[-1], inner if isinstance(inner, dict) else {}
        )
    words = name.replace(".", " ").replace("_", " ").split()
    sentence = " ".join(words).capitalize() or "Run a tool"
    ident = record_id(arguments)
    if record and ident:
        return f"{sentence} {record} ({ident})"
    if ident:
        return f"{sentence} {ident}"
    recipients = [str(arguments[key]) for key in ("to", "phone", "email") if arguments.get(key)]
    if recipients:
        return f"{sentence} to {', '.join(recipients)[:100]}"
    return sentence
