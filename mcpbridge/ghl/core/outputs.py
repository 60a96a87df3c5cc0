"""What each core tool returns: the ``outputSchema`` its ``structuredContent`` follows.

GHL's answers carry more fields than its specs say, and not always the ones they say,
so each schema names the parts a client can count on and allows everything else.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

SUCCEEDED: dict[str, Schema] = {
    "succeded": {"type": "boolean", "description": "GHL's own (misspelt) success flag."}
}


def part(kind: str, description: str) -> Schema:
    return {"type": kind, "description": description}


def listing(key: str, what: str, **extra: Schema) -> dict[str, Schema]:
    return {key: part("array", f"The {what}."), **extra}


TOTAL = {"total": {"description": "How many match in all (for paging)."}}
RECORD_ID = {"id": part("string", "The record's id."), "_id": part("string", "The record's id.")}

OUTPUTS: dict[str, dict[str, Schema]] = {
    "search_contacts": listing("contacts", "matching contacts", **TOTAL),
    "get_contact": {"contact": part("object", "The contact.")},
    "create_contact": {"contact": part("object", "The new contact.")},
    "update_contact": {"contact": part("object", "The contact as now stored."), **SUCCEEDED},
    "upsert_contact": {
        "contact": part("object", "The contact as now stored."),
        "new": part("boolean", "True when it was created."),
    },
    "delete_contact": SUCCEEDED,
    "add_contact_tags": listing("tags", "contact's tags now"),
    "remove_contact_tags": listing("tags", "contact's tags now"),
    "list_contact_notes": listing("notes", "notes"),
    "add_contact_note": {"note": part("object", "The new note.")},
    "list_contact_tasks": listing("tasks", "tasks"),
    "create_contact_task": {"task": part("object", "The new task.")},
    "complete_contact_task": {"task": part("object", "The task as now stored.")},
    "list_contact_appointments": listing("events", "contact's appointments"),
    "search_conversations": listing("conversations", "conversations", **TOTAL),
    "get_conversation_messages": {
        "messages": part("object", "messages: the page of messages; lastMessageId, nextPage.")
    },
    "send_sms": {
        "conversationId": part("string", "The conversation it went into."),
        "messageId": part("string", "The new message."),
    },
    "send_email": {
        "conversationId": part("string", "The conversation it went into."),
        "messageId": part("string", "The new message."),
        "emailMessageId": part("string", "The email's id."),
    },
    "list_calendars": listing("calendars", "calendars"),
    "get_free_slots": {},  # one key per day: {"2025-03-04": {"slots": [...]}}
    "book_appointment": RECORD_ID,
    "reschedule_appointment": RECORD_ID,
    "cancel_appointment": RECORD_ID,
    "list_appointments": listing("events", "appointments"),
    "get_appointment": {"event": part("object", "The appointment.")},
    "search_opportunities": listing("opportunities", "matching opportunities"),
    "get_opportunity": {"opportunity": part("object", "The opportunity.")},
    "create_opportunity": {"opportunity": part("object", "The new opportunity.")},
    "update_opportunity": {"opportunity": part("object", "The opportunity as now stored.")},
    "set_opportunity_status": SUCCEEDED,
    "delete_opportunity": SUCCEEDED,
    "list_pipelines": listing("pipelines", "pipelines with their stages"),
    "list_users": listing("users", "users"),
    "get_user": RECORD_ID,
    "get_location": {"location": part("object", "The sub-account.")},
    "list_location_tags": listing("tags", "tags"),
    "list_custom_fields": listing("customFields", "custom fields"),
    "list_custom_values": listing("customValues", "custom values"),
    "update_custom_value": {"customValue": part("object", "The custom value as now stored.")},
    "list_workflows": listing("workflows", "workflows"),
    "add_contact_to_workflow": SUCCEEDED,
    "remove_contact_from_workflow": SUCCEEDED,
    "list_campaigns": listing("campaigns", "campaigns"),
    "add_contact_to_campaign": SUCCEEDED,
    "list_invoices": listing("invoices", "invoices", **TOTAL),
    "get_invoice": RECORD_ID,
    "send_invoice": {"invoice": part("object", "The invoice as sent.")},
    "list_products": listing("products", "products", **TOTAL),
    "get_product": RECORD_ID,
}


def output_schema(tool: str) -> Schema:
    """The schema of a core tool's structured result (an object; GHL may add fields)."""
    return {
        "type": "object",
        "properties": {
            **OUTPUTS[tool],
            "_truncated": part("string", "Present when lists were cut to fit; says how."),
        },
        "additionalProperties": True,
    }
