"""The sandbox's starting data: one agency, two sub-accounts, a small CRM in each."""

from __future__ import annotations

import copy
from typing import Any

COMPANY_ID = "cmp_sandbox_agency"
# The marketplace app the sandbox plays GHL for (webhooks name it; installedLocations asks for it).
APP_ID = "sandbox-app"
DENTAL = "loc_sandbox_dental"
ROOFING = "loc_sandbox_roofing"
ANA = "usr_sandbox_ana"
BEN = "usr_sandbox_ben"

SANDBOX_SCOPES = frozenset(
    {
        "contacts.readonly",
        "contacts.write",
        "conversations.readonly",
        "conversations.write",
        "conversations/message.readonly",
        "conversations/message.write",
        "calendars.readonly",
        "calendars.write",
        "calendars/events.readonly",
        "calendars/events.write",
        "opportunities.readonly",
        "opportunities.write",
        "locations.readonly",
        "locations/customFields.readonly",
        "locations/customFields.write",
        "locations/customValues.readonly",
        "locations/customValues.write",
        "locations/tags.readonly",
        "locations/tags.write",
        "users.readonly",
        "workflows.readonly",
        "campaigns.readonly",
        "invoices.readonly",
        "invoices.write",
        "products.readonly",
        "oauth.readonly",
        "oauth.write",
    }
)

STAMP = "2025-01-06T15:00:00.000Z"


def location(loc_id: str, name: str, timezone: str, city: str, state: str) -> dict[str, Any]:
    return {
        "id": loc_id,
        "companyId": COMPANY_ID,
        "name": name,
        "address": "1 Main Street",
        "city": city,
        "state": state,
        "country": "US",
        "postalCode": "10001",
        "website": f"https://{loc_id.replace('_', '-')}.example.com",
        "timezone": timezone,
        "email": f"office@{loc_id.replace('_', '-')}.example.com",
        "phone": "+15550100000",
        "business": {"name": name, "timezone": timezone, "country": "US"},
        "settings": {"allowDuplicateContact": False, "allowDuplicateOpportunity": False},
    }


def user(user_id: str, first: str, last: str, role: str, locations: list[str]) -> dict[str, Any]:
    return {
        "id": user_id,
        "companyId": COMPANY_ID,
        "name": f"{first} {last}",
        "firstName": first,
        "lastName": last,
        "email": f"{first.lower()}@sandbox-agency.example.com",
        "phone": "+15550100100",
        "extension": "",
        "permissions": {"contactsEnabled": True, "opportunitiesEnabled": True},
        "roles": {"type": "account", "role": role, "locationIds": locations},
        "deleted": False,
    }


def contact(
    cid: str, loc: str, first: str, last: str, email: str, phone: str, tags: list[str]
) -> dict[str, Any]:
    return {
        "id": cid,
        "locationId": loc,
        "firstName": first,
        "lastName": last,
        "name": f"{first} {last}",
        "email": email,
        "phone": phone,
        "companyName": None,
        "tags": tags,
        "source": "sandbox seed",
        "type": "lead",
        "dnd": False,
        "customFields": [],
        "dateAdded": STAMP,
        "dateUpdated": STAMP,
    }


def contacts() -> dict[str, dict[str, Any]]:
    rows = [
        (
            "ct_dental_alice",
            DENTAL,
            "Alice",
            "Nguyen",
            "alice@example.com",
            "+15550101001",
            ["patient", "vip"],
        ),
        (
            "ct_dental_bob",
            DENTAL,
            "Bob",
            "Martinez",
            "bob@example.com",
            "+15550101002",
            ["patient"],
        ),
        (
            "ct_dental_carla",
            DENTAL,
            "Carla",
            "Okafor",
            "carla@example.com",
            "+15550101003",
            ["lead"],
        ),
        ("ct_dental_dev", DENTAL, "Dev", "Patel", "dev@example.com", "+15550101004", []),
        (
            "ct_roofing_erin",
            ROOFING,
            "Erin",
            "Walsh",
            "erin@example.com",
            "+15550102001",
            ["quote"],
        ),
        (
            "ct_roofing_frank",
            ROOFING,
            "Frank",
            "Li",
            "frank@example.com",
            "+15550102002",
            ["customer"],
        ),
    ]
    return {row[0]: contact(*row) for row in rows}


def calendars() -> dict[str, dict[str, Any]]:
    def calendar(cal_id: str, loc: str, name: str) -> dict[str, Any]:
        return {
            "id": cal_id,
            "locationId": loc,
            "name": name,
            "groupId": f"grp_{loc}",
            "isActive": True,
            "calendarType": "round_robin",
            "slotDuration": 30,
            "slotDurationUnit": "mins",
            "teamMembers": [{"userId": ANA}],
            "openHours": [
                {
                    "daysOfTheWeek": [1, 2, 3, 4, 5],
                    "hours": [{"openHour": 9, "openMinute": 0, "closeHour": 17, "closeMinute": 0}],
                }
            ],
        }

    return {
        "cal_dental_cleaning": calendar("cal_dental_cleaning", DENTAL, "Cleaning"),
        "cal_roofing_estimate": calendar("cal_roofing_estimate", ROOFING, "Roof estimate"),
    }


def pipelines() -> dict[str, dict[str, Any]]:
    def pipeline(pid: str, loc: str) -> dict[str, Any]:
        stages = [
            {"id": f"{pid}_new", "name": "New lead", "position": 0},
            {"id": f"{pid}_contacted", "name": "Contacted", "position": 1},
            {"id": f"{pid}_booked", "name": "Booked", "position": 2},
        ]
        return {
            "id": pid,
            "name": "Sales",
            "locationId": loc,
            "stages": stages,
            "showInFunnel": True,
        }

    return {
        "pl_dental": pipeline("pl_dental", DENTAL),
        "pl_roofing": pipeline("pl_roofing", ROOFING),
    }


def opportunities() -> dict[str, dict[str, Any]]:
    def opp(oid: str, loc: str, pid: str, cid: str, name: str, value: float) -> dict[str, Any]:
        return {
            "id": oid,
            "name": name,
            "locationId": loc,
            "pipelineId": pid,
            "pipelineStageId": f"{pid}_new",
            "contactId": cid,
            "status": "open",
            "monetaryValue": value,
            "assignedTo": ANA,
            "source": "sandbox seed",
            "createdAt": STAMP,
            "updatedAt": STAMP,
        }

    return {
        "op_dental_implant": opp(
            "op_dental_implant", DENTAL, "pl_dental", "ct_dental_alice", "Implant consult", 2400.0
        ),
        "op_roofing_repair": opp(
            "op_roofing_repair", ROOFING, "pl_roofing", "ct_roofing_erin", "Roof repair", 8600.0
        ),
    }


def conversations() -> tuple[dict[str, Any], dict[str, Any]]:
    convo: dict[str, Any] = {
        "id": "cv_dental_alice",
        "locationId": DENTAL,
        "contactId": "ct_dental_alice",
        "type": "TYPE_PHONE",
        "unreadCount": 1,
        "fullName": "Alice Nguyen",
        "email": "alice@example.com",
        "phone": "+15550101001",
        "lastMessageBody": "Can I move my cleaning to Friday?",
        "lastMessageType": "TYPE_SMS",
        "dateUpdated": STAMP,
    }
    messages = {
        "msg_alice_1": {
            "id": "msg_alice_1",
            "conversationId": "cv_dental_alice",
            "locationId": DENTAL,
            "contactId": "ct_dental_alice",
            "type": 2,
            "messageType": "TYPE_SMS",
            "direction": "inbound",
            "status": "delivered",
            "body": "Can I move my cleaning to Friday?",
            "contentType": "text/plain",
            "dateAdded": STAMP,
        }
    }
    return {convo["id"]: convo}, messages


def small_tables() -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {
        "tags": {},
        "custom_fields": {},
        "custom_values": {},
        "workflows": {},
        "campaigns": {},
        "products": {},
        "invoices": {},
    }
    for loc, short in ((DENTAL, "dental"), (ROOFING, "roofing")):
        for name in ("vip", "patient", "lead") if loc == DENTAL else ("quote", "customer"):
            tid = f"tag_{short}_{name}"
            tables["tags"][tid] = {"id": tid, "name": name, "locationId": loc}
        for key, label, kind in (
            ("insurance", "Insurance provider", "TEXT"),
            ("budget", "Budget", "MONETORY"),
        ):
            fid = f"cf_{short}_{key}"
            tables["custom_fields"][fid] = {
                "id": fid,
                "name": label,
                "fieldKey": f"contact.{key}",
                "dataType": kind,
                "model": "contact",
                "locationId": loc,
            }
        vid = f"cv_{short}_hours"
        tables["custom_values"][vid] = {
            "id": vid,
            "name": "Office hours",
            "fieldKey": "{{ custom_values.office_hours }}",
            "value": "Mon-Fri 9-5",
            "locationId": loc,
        }
        for wid, name in (
            (f"wf_{short}_welcome", "Welcome sequence"),
            (f"wf_{short}_reminder", "Appointment reminder"),
        ):
            tables["workflows"][wid] = {
                "id": wid,
                "name": name,
                "status": "published",
                "version": 3,
                "locationId": loc,
                "createdAt": STAMP,
                "updatedAt": STAMP,
            }
        camp = f"cp_{short}_spring"
        tables["campaigns"][camp] = {
            "id": camp,
            "name": "Spring promotion",
            "status": "published",
            "locationId": loc,
        }
        prod = f"pr_{short}_service"
        tables["products"][prod] = {
            "_id": prod,
            "name": "Standard service",
            "productType": "SERVICE",
            "locationId": loc,
            "availableInStore": True,
            "createdAt": STAMP,
            "updatedAt": STAMP,
        }
    tables["invoices"]["inv_dental_1001"] = invoice(
        "inv_dental_1001", DENTAL, "ct_dental_alice", "Alice Nguyen", 1001, 180.0
    )
    tables["invoices"]["inv_roofing_2001"] = invoice(
        "inv_roofing_2001", ROOFING, "ct_roofing_erin", "Erin Walsh", 2001, 8600.0
    )
    return tables


def invoice(iid: str, loc: str, cid: str, name: str, number: int, total: float) -> dict[str, Any]:
    return {
        "_id": iid,
        "altId": loc,
        "altType": "location",
        "name": f"Invoice {number}",
        "title": "INVOICE",
        "invoiceNumber": number,
        "status": "draft",
        "liveMode": True,
        "currency": "USD",
        "contactDetails": {"id": cid, "name": name},
        "issueDate": "2025-01-06",
        "dueDate": "2025-02-05",
        "invoiceItems": [{"name": "Service", "qty": 1, "amount": total}],
        "total": total,
        "amountPaid": 0,
        "amountDue": total,
        "createdAt": STAMP,
        "updatedAt": STAMP,
    }


def seed_world() -> dict[str, Any]:
    convos, messages = conversations()
    world: dict[str, Any] = {
        "companies": {COMPANY_ID: {"id": COMPANY_ID, "name": "Sandbox Agency"}},
        "locations": {
            DENTAL: location(DENTAL, "Bright Smile Dental", "America/New_York", "New York", "NY"),
            ROOFING: location(ROOFING, "Summit Roofing", "America/Denver", "Denver", "CO"),
        },
        # Where the app is installed: a location's consent installs it, an uninstall removes it.
        "installations": {DENTAL: {"installedAt": STAMP}, ROOFING: {"installedAt": STAMP}},
        "users": {
            ANA: user(ANA, "Ana", "Admin", "admin", [DENTAL, ROOFING]),
            BEN: user(BEN, "Ben", "Front-desk", "user", [DENTAL]),
        },
        "contacts": contacts(),
        "notes": {},
        "tasks": {},
        "conversations": convos,
        "messages": messages,
        "calendars": calendars(),
        "appointments": {},
        "pipelines": pipelines(),
        "opportunities": opportunities(),
        "workflow_enrolments": [],
        "campaign_enrolments": [],
        **small_tables(),
    }
    return copy.deepcopy(world)
