"""Core tools for the sub-account, its automations and its commerce."""

from __future__ import annotations

from mcpbridge.ghl.core.base import WHEN, CoreTool, choice, count, ident, text


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
