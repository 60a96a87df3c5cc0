"""Core tools for contacts and conversations."""

from __future__ import annotations

from mcpbridge.ghl.core.base import (
    BODY_LOCATION,
    CONTACT_FIELDS,
    WHEN,
    CoreTool,
    choice,
    count,
    ident,
    needs_one_of,
    strings,
    text,
)


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
