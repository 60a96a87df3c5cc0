"""The curated core: the GHL tasks agencies do daily, with tight, model-friendly schemas.

Each core tool names one catalogue operation and says how its arguments map onto
that operation's path, query and body. Arguments keep GHL's own field names, so
what a model knows about GHL carries over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcpbridge.ghl.calls import ArgumentError
from mcpbridge.ghl.catalogue import LocationSlot, Operation

Schema = dict[str, Any]


def text(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def ident(what: str) -> Schema:
    return {"type": "string", "minLength": 1, "description": f"The {what} id."}


def flag(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def count(description: str, *, maximum: int = 100, default: int = 20) -> Schema:
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": maximum,
        "default": default,
        "description": description,
    }


def choice(description: str, values: list[str]) -> Schema:
    return {"type": "string", "enum": values, "description": description}


def strings(description: str) -> Schema:
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": 1,
        "description": description,
    }


WHEN = "ISO 8601 date-time with offset, e.g. 2025-03-01T09:30:00-05:00"
DAY_OR_TIME = "ISO 8601 date or date-time, e.g. 2025-03-01 or 2025-03-01T09:30:00Z"
CUSTOM_FIELDS: Schema = {
    "type": "array",
    "description": "Custom field values: [{id, value}] (ids from list_custom_fields).",
    "items": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "key": {"type": "string"}, "value": {}},
        "anyOf": [{"required": ["id"]}, {"required": ["key"]}],
    },
}
CONTACT_FIELDS: dict[str, Schema] = {
    "firstName": text("First name."),
    "lastName": text("Last name."),
    "name": text("Full name, when first and last are not known apart."),
    "email": text("Email address."),
    "phone": text("Phone number in E.164 form, e.g. +14155550123."),
    "companyName": text("Company name."),
    "address1": text("Street address."),
    "city": text("City."),
    "state": text("State or region."),
    "postalCode": text("Postal code."),
    "country": text("Two-letter country code, e.g. US."),
    "website": text("Website URL."),
    "timezone": text("IANA time zone, e.g. America/New_York."),
    "source": text("Where the contact came from."),
    "assignedTo": text("User id of the contact's owner."),
    "tags": strings("Tags to set."),
    "customFields": CUSTOM_FIELDS,
}
OPPORTUNITY_STATUSES = ["open", "won", "lost", "abandoned"]


def epoch_ms(value: Any, *, timezone: str | None = None, end_of_day: bool = False) -> int:
    """Milliseconds since the epoch from ISO text (a bare date is read in ``timezone``)."""
    if isinstance(value, int | float):
        return int(value)
    raw = str(value).strip()
    if raw.isdigit():
        return int(raw)
    try:
        zone = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        raise ArgumentError(f"unknown time zone {timezone!r}") from None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=zone)
        else:
            moment = datetime.fromisoformat(raw)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
    except ValueError:
        raise ArgumentError(f"{raw!r} is not an ISO 8601 date or date-time") from None
    return int(moment.timestamp() * 1000)


def slot_window(args: dict[str, Any]) -> dict[str, Any]:
    zone = args.get("timezone")
    args["startDate"] = epoch_ms(args["startDate"], timezone=zone)
    args["endDate"] = epoch_ms(args["endDate"], timezone=zone, end_of_day=True)
    return args


def event_window(args: dict[str, Any]) -> dict[str, Any]:
    args["startTime"] = str(epoch_ms(args["startTime"]))
    args["endTime"] = str(epoch_ms(args["endTime"], end_of_day=True))
    return args


def needs_one_of(*names: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check(args: dict[str, Any]) -> dict[str, Any]:
        if not any(args.get(name) for name in names):
            raise ArgumentError(f"give at least one of: {', '.join(names)}")
        return args

    return check


def chain(
    *steps: Callable[[dict[str, Any]], dict[str, Any]],
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def run(args: dict[str, Any]) -> dict[str, Any]:
        for step in steps:
            args = step(args)
        return args

    return run


@dataclass(frozen=True)
class CoreTool:
    name: str
    operation: str
    description: str
    properties: dict[str, Schema] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    extra_slots: tuple[LocationSlot, ...] = ()
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def input_schema(self) -> Schema:
        schema: Schema = {
            "type": "object",
            "properties": self.properties,
            "additionalProperties": False,
        }
        if self.required:
            schema["required"] = list(self.required)
        return schema

    def operation_arguments(self, op: Operation, arguments: dict[str, Any]) -> dict[str, Any]:
        """Route validated core arguments onto the operation's parameters and body."""
        args = dict(arguments)
        for name, schema in self.properties.items():
            if name not in args and "default" in schema:
                args[name] = schema["default"]
        if self.prepare is not None:
            args = self.prepare(args)
        params = {p.name for p in op.params}
        routed: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for name, value in [*args.items(), *self.fixed.items()]:
            if name not in self.properties and name not in self.fixed:
                continue
            target = self.rename.get(name, name)
            if target is None:
                continue
            if target in params:
                routed[target] = value
            else:
                body[target] = value
        if body or op.body is not None:
            routed["body"] = body
        return routed


BODY_LOCATION = (LocationSlot(location="body", name="locationId"),)


def contact_tools() -> list[CoreTool]:
    contact_id = {"contactId": ident("contact")}
    return [
        CoreTool(
            "search_contacts",
            "contacts.search_contacts_advanced",
            "Find contacts by free text (name, email, phone, company). Returns matching "
            "contacts with ids; page through with page.",
            {
                "query": text("Words to look for; empty lists recent contacts."),
                "limit": count("Contacts per page."),
                "page": {
                    "type": "integer",
                    "minimum": 1,
                    "default": 1,
                    "description": "Page number, from 1.",
                },
            },
            rename={"limit": "pageLimit"},
            extra_slots=BODY_LOCATION,
        ),
        CoreTool(
            "get_contact",
            "contacts.get_contact",
            "Get one contact's full record: details, tags, custom fields, DND.",
            contact_id,
            ("contactId",),
        ),
        CoreTool(
            "create_contact",
            "contacts.create_contact",
            "Create a contact. Give at least an email or a phone; GHL refuses duplicates "
            "unless the location allows them (use upsert_contact to update instead).",
            CONTACT_FIELDS,
            prepare=needs_one_of("email", "phone", "firstName", "name"),
        ),
        CoreTool(
            "update_contact",
            "contacts.update_contact",
            "Change fields of an existing contact; fields left out keep their values. "
            "Setting tags replaces all tags (use add_contact_tags to add).",
            {**contact_id, **{k: v for k, v in CONTACT_FIELDS.items() if k != "companyName"}},
            ("contactId",),
        ),
        CoreTool(
            "upsert_contact",
            "contacts.upsert_contact",
            "Create a contact, or update the one that already has this email or phone.",
            CONTACT_FIELDS,
            prepare=needs_one_of("email", "phone"),
        ),
        CoreTool(
            "delete_contact",
            "contacts.delete_contact",
            "Delete a contact permanently.",
            contact_id,
            ("contactId",),
        ),
        CoreTool(
            "add_contact_tags",
            "contacts.add_tags",
            "Add tags to a contact (existing tags stay).",
            {**contact_id, "tags": strings("Tags to add.")},
            ("contactId", "tags"),
        ),
        CoreTool(
            "remove_contact_tags",
            "contacts.remove_tags",
            "Remove tags from a contact.",
            {**contact_id, "tags": strings("Tags to remove.")},
            ("contactId", "tags"),
        ),
        CoreTool(
            "list_contact_notes",
            "contacts.get_all_notes",
            "List the notes on a contact.",
            contact_id,
            ("contactId",),
        ),
        CoreTool(
            "add_contact_note",
            "contacts.create_note",
            "Add a note to a contact.",
            {
                **contact_id,
                "body": text("The note's text.", minLength=1),
                "userId": text("User id to record as the author."),
            },
            ("contactId", "body"),
        ),
        CoreTool(
            "list_contact_tasks",
            "contacts.get_all_tasks",
            "List the tasks on a contact.",
            contact_id,
            ("contactId",),
        ),
        CoreTool(
            "create_contact_task",
            "contacts.create_task",
            "Create a follow-up task on a contact.",
            {
                **contact_id,
                "title": text("Task title.", minLength=1),
                "body": text("Task details."),
                "dueDate": text(f"When it is due: {WHEN}.", format="date-time"),
                "assignedTo": text("User id responsible for the task."),
            },
            ("contactId", "title", "dueDate"),
            fixed={"completed": False},
        ),
        CoreTool(
            "complete_contact_task",
            "contacts.update_task_completed",
            "Mark a contact's task done (or not done again).",
            {
                **contact_id,
                "taskId": ident("task"),
                "completed": {
                    "type": "boolean",
                    "default": True,
                    "description": "True marks it done.",
                },
            },
            ("contactId", "taskId"),
        ),
        CoreTool(
            "list_contact_appointments",
            "contacts.get_appointments_for_contact",
            "List a contact's appointments.",
            contact_id,
            ("contactId",),
        ),
    ]


def conversation_tools() -> list[CoreTool]:
    return [
        CoreTool(
            "search_conversations",
            "conversations.search_conversation",
            "Find conversations (SMS, email, chat threads), newest first; "
            "filter by contact, text or status.",
            {
                "contactId": text("Only this contact's conversations."),
                "query": text("Words to look for."),
                "status": choice(
                    "Which conversations.", ["all", "read", "unread", "starred", "recents"]
                ),
                "assignedTo": text("Only conversations assigned to this user id."),
                "limit": count("Conversations to return."),
            },
        ),
        CoreTool(
            "get_conversation_messages",
            "conversations.get_messages",
            "Read the messages of a conversation, newest first.",
            {
                "conversationId": ident("conversation"),
                "limit": count("Messages to return."),
                "lastMessageId": text("Continue after this message id (from the previous page)."),
            },
            ("conversationId",),
        ),
        CoreTool(
            "send_sms",
            "conversations.send_a_new_message",
            "Send an SMS to a contact from the sub-account's number.",
            {"contactId": ident("contact"), "message": text("The text to send.", minLength=1)},
            ("contactId", "message"),
            fixed={"type": "SMS"},
        ),
        CoreTool(
            "send_email",
            "conversations.send_a_new_message",
            "Send an email to a contact. Give html or message (plain text).",
            {
                "contactId": ident("contact"),
                "subject": text("Subject line.", minLength=1),
                "html": text("HTML body."),
                "message": text("Plain-text body."),
                "emailTo": text("Recipient address when not the contact's main email."),
                "emailCc": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Cc addresses.",
                },
                "emailBcc": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Bcc addresses.",
                },
                "emailFrom": text(
                    "Sender, e.g. 'Jane <jane@example.com>'; defaults to the location's."
                ),
            },
            ("contactId", "subject"),
            fixed={"type": "Email"},
            prepare=needs_one_of("html", "message"),
        ),
    ]


def calendar_tools() -> list[CoreTool]:
    appointment_id = {"appointmentId": ident("appointment (event)")}
    return [
        CoreTool(
            "list_calendars",
            "calendars.get_calendars",
            "List the sub-account's calendars.",
            {"groupId": text("Only calendars of this group.")},
        ),
        CoreTool(
            "get_free_slots",
            "calendars.get_slots",
            "Free booking slots of a calendar between two dates (at most 31 days apart).",
            {
                "calendarId": ident("calendar"),
                "startDate": text(f"First day: {DAY_OR_TIME}."),
                "endDate": text(f"Last day: {DAY_OR_TIME}."),
                "timezone": text("IANA time zone to show slots in, e.g. America/Chicago."),
                "userId": text("Only this team member's slots."),
            },
            ("calendarId", "startDate", "endDate"),
            prepare=slot_window,
        ),
        CoreTool(
            "book_appointment",
            "calendars.create_appointment",
            "Book an appointment for a contact on a calendar (pick a time from get_free_slots).",
            {
                "calendarId": ident("calendar"),
                "contactId": ident("contact"),
                "startTime": text(f"Start: {WHEN}.", format="date-time"),
                "endTime": text(
                    f"End: {WHEN}; defaults to the calendar's slot length.", format="date-time"
                ),
                "title": text("Title shown on the calendar."),
                "appointmentStatus": choice("Initial status.", ["new", "confirmed"]),
                "assignedUserId": text("Team member who takes the appointment."),
                "address": text("Meeting address or link."),
            },
            ("calendarId", "contactId", "startTime"),
        ),
        CoreTool(
            "reschedule_appointment",
            "calendars.edit_appointment",
            "Move an appointment to a new time.",
            {
                **appointment_id,
                "startTime": text(f"New start: {WHEN}.", format="date-time"),
                "endTime": text(f"New end: {WHEN}.", format="date-time"),
            },
            ("appointmentId", "startTime"),
            rename={"appointmentId": "eventId"},
        ),
        CoreTool(
            "cancel_appointment",
            "calendars.edit_appointment",
            "Cancel an appointment (it stays on record with status cancelled).",
            appointment_id,
            ("appointmentId",),
            rename={"appointmentId": "eventId"},
            fixed={"appointmentStatus": "cancelled"},
        ),
        CoreTool(
            "list_appointments",
            "calendars.get_calendar_events",
            "List appointments between two times for a calendar, a user or a calendar group.",
            {
                "startTime": text(f"From: {DAY_OR_TIME}."),
                "endTime": text(f"To: {DAY_OR_TIME}."),
                "calendarId": text("Calendar id."),
                "userId": text("User id (appointment owner)."),
                "groupId": text("Calendar group id."),
            },
            ("startTime", "endTime"),
            prepare=chain(needs_one_of("calendarId", "userId", "groupId"), event_window),
        ),
        CoreTool(
            "get_appointment",
            "calendars.get_appointment",
            "Get one appointment.",
            appointment_id,
            ("appointmentId",),
            rename={"appointmentId": "eventId"},
        ),
    ]


def opportunity_tools() -> list[CoreTool]:
    opportunity_id = {"opportunityId": ident("opportunity")}
    fields = {
        "name": text("Opportunity name."),
        "pipelineId": text("Pipeline id (from list_pipelines)."),
        "pipelineStageId": text("Stage id within the pipeline."),
        "status": choice("Status.", OPPORTUNITY_STATUSES),
        "monetaryValue": {"type": "number", "minimum": 0, "description": "Deal value."},
        "assignedTo": text("User id of the owner."),
    }
    return [
        CoreTool(
            "search_opportunities",
            "opportunities.search_opportunity",
            "Find opportunities (deals) by text, pipeline, stage, status, contact or owner.",
            {
                "query": text("Words to look for."),
                "pipelineId": text("Only this pipeline."),
                "pipelineStageId": text("Only this stage."),
                "status": choice("Only this status.", [*OPPORTUNITY_STATUSES, "all"]),
                "contactId": text("Only this contact's opportunities."),
                "assignedTo": text("Only this owner's (user id)."),
                "limit": count("Opportunities per page."),
                "page": {"type": "integer", "minimum": 1, "description": "Page number, from 1."},
            },
            rename={
                "query": "q",
                "pipelineId": "pipeline_id",
                "pipelineStageId": "pipeline_stage_id",
                "contactId": "contact_id",
                "assignedTo": "assigned_to",
            },
        ),
        CoreTool(
            "get_opportunity",
            "opportunities.get_opportunity",
            "Get one opportunity.",
            opportunity_id,
            ("opportunityId",),
            rename={"opportunityId": "id"},
        ),
        CoreTool(
            "create_opportunity",
            "opportunities.create_opportunity",
            "Create an opportunity for a contact in a pipeline.",
            {
                **fields,
                "contactId": ident("contact"),
                "status": {**fields["status"], "default": "open"},
            },
            ("name", "pipelineId", "contactId"),
        ),
        CoreTool(
            "update_opportunity",
            "opportunities.update_opportunity",
            "Change an opportunity's name, stage, value, owner or status.",
            {**opportunity_id, **fields},
            ("opportunityId",),
            rename={"opportunityId": "id"},
        ),
        CoreTool(
            "set_opportunity_status",
            "opportunities.update_opportunity_status",
            "Mark an opportunity open, won, lost or abandoned.",
            {
                **opportunity_id,
                "status": choice("New status.", OPPORTUNITY_STATUSES),
                "lostReasonId": text("Why it was lost (lost reason id)."),
            },
            ("opportunityId", "status"),
            rename={"opportunityId": "id"},
        ),
        CoreTool(
            "delete_opportunity",
            "opportunities.delete_opportunity",
            "Delete an opportunity permanently.",
            opportunity_id,
            ("opportunityId",),
            rename={"opportunityId": "id"},
        ),
        CoreTool(
            "list_pipelines",
            "opportunities.get_pipelines",
            "List the sales pipelines with their stages (ids for opportunities).",
        ),
    ]


def account_tools() -> list[CoreTool]:
    return [
        CoreTool(
            "list_users",
            "users.get_user_by_location",
            "List the sub-account's users (team members) with their ids.",
        ),
        CoreTool(
            "get_user",
            "users.get_user",
            "Get one user's name, email, phone and role.",
            {"userId": ident("user")},
            ("userId",),
        ),
        CoreTool(
            "get_location",
            "locations.get_location",
            "Get the sub-account's details: name, address, time zone, settings.",
        ),
        CoreTool(
            "list_location_tags",
            "locations.get_location_tags",
            "List the tags defined in the sub-account.",
        ),
        CoreTool(
            "list_custom_fields",
            "locations.get_custom_fields",
            "List custom fields (ids, names, types) for contacts or opportunities.",
            {"model": choice("Which records' fields.", ["contact", "opportunity", "all"])},
        ),
        CoreTool(
            "list_custom_values",
            "locations.get_custom_values",
            "List the sub-account's custom values (merge fields such as {{custom_values.x}}).",
        ),
        CoreTool(
            "update_custom_value",
            "locations.update_custom_value",
            "Change a custom value.",
            {
                "customValueId": ident("custom value"),
                "name": text("Its name.", minLength=1),
                "value": text("The new value."),
            },
            ("customValueId", "name", "value"),
            rename={"customValueId": "id"},
        ),
    ]


def automation_tools() -> list[CoreTool]:
    pair = {"contactId": ident("contact"), "workflowId": ident("workflow")}
    return [
        CoreTool(
            "list_workflows",
            "workflows.get_workflow",
            "List the sub-account's workflows (automations) with ids and status.",
        ),
        CoreTool(
            "add_contact_to_workflow",
            "contacts.add_contact_to_workflow",
            "Enrol a contact in a workflow.",
            {
                **pair,
                "eventStartTime": text(
                    f"When the workflow's clock starts: {WHEN}.", format="date-time"
                ),
            },
            ("contactId", "workflowId"),
        ),
        CoreTool(
            "remove_contact_from_workflow",
            "contacts.delete_contact_from_workflow",
            "Take a contact out of a workflow.",
            pair,
            ("contactId", "workflowId"),
        ),
        CoreTool(
            "list_campaigns",
            "campaigns.get_campaigns",
            "List the sub-account's campaigns.",
            {"status": choice("Only this status.", ["draft", "published"])},
        ),
        CoreTool(
            "add_contact_to_campaign",
            "contacts.add_contact_to_campaign",
            "Add a contact to a campaign.",
            {"contactId": ident("contact"), "campaignId": ident("campaign")},
            ("contactId", "campaignId"),
        ),
    ]


def commerce_tools() -> list[CoreTool]:
    return [
        CoreTool(
            "list_invoices",
            "invoices.list_invoices",
            "List invoices, newest first; filter by status, contact or text.",
            {
                "status": choice(
                    "Only this status.",
                    ["draft", "sent", "payment_processing", "paid", "void", "partially_paid"],
                ),
                "contactId": text("Only this contact's invoices."),
                "search": text("Invoice number, name, email or phone."),
                "limit": count("Invoices per page."),
                "offset": {
                    "type": "integer",
                    "minimum": 0,
                    "default": 0,
                    "description": "Invoices to skip.",
                },
            },
        ),
        CoreTool(
            "get_invoice",
            "invoices.get_invoice",
            "Get one invoice with its items, totals and status.",
            {"invoiceId": ident("invoice")},
            ("invoiceId",),
        ),
        CoreTool(
            "send_invoice",
            "invoices.send_invoice",
            "Send an invoice to its contact by email and/or SMS.",
            {
                "invoiceId": ident("invoice"),
                "userId": ident("sending user"),
                "action": {
                    **choice("How to send it.", ["email", "sms", "sms_and_email", "send_manually"]),
                    "default": "email",
                },
                "liveMode": {
                    "type": "boolean",
                    "default": True,
                    "description": "False sends it in test mode.",
                },
            },
            ("invoiceId", "userId"),
        ),
        CoreTool(
            "list_products",
            "products.list_invoices",
            "List products (name, prices, type); search by name.",
            {
                "search": text("Product name to look for."),
                "limit": count("Products per page."),
                "offset": {
                    "type": "integer",
                    "minimum": 0,
                    "default": 0,
                    "description": "Products to skip.",
                },
            },
        ),
        CoreTool(
            "get_product",
            "products.get_product_by_id",
            "Get one product.",
            {"productId": ident("product")},
            ("productId",),
        ),
    ]


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
