"""What calling an operation can do, and the MCP annotations that say so.

Every tool carries the standard hints and, under ``_meta``, our one-word summary
``ghl-agent-hub/risk``, the most a call can do:

- ``read``: only reads (GETs, and the POSTs that search or list);
- ``write``: adds to the CRM (creates, adds, uploads) without overwriting anything;
- ``destructive``: deletes, cancels, voids, removes, or overwrites what is there
  (updates, upserts, sets);
- ``outbound``: reaches people or money outside the CRM: sends a message, invoice,
  estimate or document, publishes a post or an ad, enrols a contact in automated
  messages, charges or buys.

``call_operation`` is marked ``outbound`` (it can call anything) and carries
``ghl-agent-hub/risk-from: "operationId"``: one call's risk is that of the operation
its ``operationId`` argument names, which search_operations and describe_operation give.

``openWorldHint`` is true for outbound tools only: everything else stays inside the
sub-account's own CRM.
"""

from __future__ import annotations

from typing import Any, Literal

import mcp.types as types

from mcpbridge.ghl.catalogue import Operation

Risk = Literal["read", "write", "destructive", "outbound"]
RISK_META_KEY = "ghl-agent-hub/risk"
# On call_operation: the risk of one call is that of the operation this argument names.
RISK_FROM_META_KEY = "ghl-agent-hub/risk-from"
RISKS: tuple[Risk, ...] = ("read", "write", "destructive", "outbound")

READ_VERBS = ("get", "list", "search", "fetch", "find", "validate", "check", "preview", "count")
ADDITIVE_VERBS = ("create", "add", "attach", "upload", "import", "initiate", "complete", "record")
DESTRUCTIVE_VERBS = ("delete", "remove", "cancel", "void", "disconnect", "disable", "trash")
OVERWRITE_VERBS = ("update", "edit", "upsert", "set", "bulk", "batch", "patch", "migrate")
OUTBOUND_VERBS = (
    "send",
    "text2pay",
    "publish",
    "promoteandpublish",
    "charge",
    "purchase",
    "resume",
)
# Operations that reach people or money although no verb in their id says so.
OUTBOUND_OPERATIONS = frozenset(
    {
        "social_media_posting.create_post",  # publishes to the connected social accounts
        "contacts.add_contact_to_workflow",  # workflows message the contact
        "contacts.add_contact_to_campaign",  # so do campaigns
        "conversations.live_chat_agent_typing",  # shown to the visitor in the chat widget
        "invoices.schedule_invoice_schedule",  # sends the invoices on their dates
        "invoices.update_and_schedule_invoice_schedule",
        "invoices.auto_payment_invoice_schedule",  # charges the customer's card
    }
)


# Ad Manager ids start with the platform: fb_get_pages, google_get_keyword_ideas.
PLATFORMS = frozenset({"fb", "google", "li"})


def id_words(op: Operation) -> list[str]:
    words = op.id.split(".", 1)[1].split("_")
    while len(words) > 1 and words[0] in PLATFORMS:
        words = words[1:]
    return words


def is_outbound(op: Operation) -> bool:
    return op.id in OUTBOUND_OPERATIONS or any(w.startswith(OUTBOUND_VERBS) for w in id_words(op))


def effect_on_crm(op: Operation) -> Risk:
    """What ``op`` does to the CRM's own records: read, write or destructive."""
    words = id_words(op)
    last = op.path.rstrip("/").rsplit("/", 1)[-1]
    if op.method == "GET" or last in ("search", "list") or words[0].startswith(READ_VERBS):
        return "read"
    if op.method == "DELETE" or any(w.startswith(DESTRUCTIVE_VERBS) for w in words):
        return "destructive"
    if words[0].startswith(ADDITIVE_VERBS):
        return "write"
    if op.method in ("PUT", "PATCH") or words[0].startswith(OVERWRITE_VERBS):
        return "destructive"
    return "write"


def operation_risk(op: Operation) -> Risk:
    """The most one call of ``op`` can do (see the module's docstring)."""
    return "outbound" if is_outbound(op) else effect_on_crm(op)


def operation_annotations(op: Operation, title: str) -> types.ToolAnnotations:
    effect = effect_on_crm(op)
    return types.ToolAnnotations(
        title=title,
        read_only_hint=effect == "read" and not is_outbound(op),
        destructive_hint=effect == "destructive",
        idempotent_hint=op.method in ("GET", "PUT", "DELETE") or effect == "read",
        open_world_hint=is_outbound(op),
    )


def risk_meta(risk: Risk, **extra: Any) -> dict[str, Any]:
    return {RISK_META_KEY: risk, **extra}
