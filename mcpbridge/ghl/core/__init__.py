"""The curated core: the GHL tasks agencies do daily, with tight, model-friendly schemas.

Each core tool names one catalogue operation and says how its arguments map onto
that operation's path, query and body. Arguments keep GHL's own field names, so
what a model knows about GHL carries over.
"""

from __future__ import annotations

from mcpbridge.ghl.core.account import account_tools, automation_tools, commerce_tools
from mcpbridge.ghl.core.base import CoreTool, epoch_ms
from mcpbridge.ghl.core.crm import contact_tools, conversation_tools
from mcpbridge.ghl.core.sales import calendar_tools, opportunity_tools

__all__ = ["CoreTool", "core_tools", "epoch_ms"]


def core_tools() -> list[CoreTool]:
    return [
        *contact_tools(),
        *conversation_tools(),
        *calendar_tools(),
        *opportunity_tools(),
        *account_tools(),
        *automation_tools(),
        *commerce_tools(),
    ]
