"""Contacts: search, get, create, update, upsert, delete, tags, notes, tasks, automations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcpbridge.sandbox.state import SandboxState, TokenInfo, new_id
from mcpbridge.sandbox.web import (
    ApiError,
    api,
    json_body,
    owned,
    require,
    rows_of,
    same_location,
    sandbox_state,
)

CONTACT_FIELDS = (
    "firstName", "lastName", "name", "email", "phone", "companyName", "address1", "city", "state",
    "postalCode", "country", "website", "timezone", "source", "assignedTo", "tags", "customFields",
    "dnd", "dndSettings", "gender", "dateOfBirth",
)  # fmt: skip


def iso_now(state: SandboxState) -> str:
    return (
        datetime.fromtimestamp(state.now(), UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def contact_matches(contact: dict[str, Any], query: str) -> bool:
    if not query:
        return True
    haystack = " ".join(
        str(contact.get(k) or "") for k in ("name", "email", "phone", "companyName")
    ).lower()
    return all(word in haystack for word in query.lower().split())


def contact_apply(
    contact: dict[str, Any], body: dict[str, Any], state: SandboxState
) -> dict[str, Any]:
    for field in CONTACT_FIELDS:
        if field in body:
            contact[field] = body[field]
    if ("firstName" in body or "lastName" in body) and "name" not in body:
        contact["name"] = " ".join(
            filter(None, (contact.get("firstName"), contact.get("lastName")))
        )
    contact["dateUpdated"] = iso_now(state)
    return contact


def duplicate_of(request: Request, auth: TokenInfo, body: dict[str, Any]) -> dict[str, Any] | None:
    for contact in rows_of(request, "contacts", auth):
        if body.get("email") and (contact.get("email") or "").lower() == str(body["email"]).lower():
            return contact
        if body.get("phone") and contact.get("phone") == body["phone"]:
            return contact
    return None


def contact_new(state: SandboxState, location_id: str, body: dict[str, Any]) -> dict[str, Any]:
    stamp = iso_now(state)
    contact = {
        "id": new_id(),
        "locationId": location_id,
        "tags": [],
        "customFields": [],
        "type": "lead",
        "dnd": False,
        "dateAdded": stamp,
    }
    contact_apply(contact, body, state)
    state.data["contacts"][contact["id"]] = contact
    return contact


@api("contacts.readonly")
async def search(request: Request, auth: TokenInfo) -> Response:
    body = await json_body(request)
    same_location(auth, body.get("locationId"))
    limit = int(body.get("pageLimit") or 20)
    page = int(body.get("page") or 1)
    if limit < 1 or limit > 500 or page < 1:
        raise ApiError(
            422, ["pageLimit must not be greater than 500", "page must not be less than 1"]
        )
    query = str(body.get("query") or "")
    found = [c for c in rows_of(request, "contacts", auth) if contact_matches(c, query)]
    return JSONResponse({"contacts": found[(page - 1) * limit : page * limit], "total": len(found)})


@api("contacts.readonly")
async def list_contacts(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.query_params.get("locationId"))
    query = request.query_params.get("query", "")
    limit = int(request.query_params.get("limit") or 20)
    found = [c for c in rows_of(request, "contacts", auth) if contact_matches(c, query)]
    return JSONResponse({"contacts": found[:limit], "meta": {"total": len(found)}})


@api("contacts.readonly")
async def get_contact(request: Request, auth: TokenInfo) -> Response:
    contact = owned(
        sandbox_state(request).data["contacts"], request.path_params["contactId"], auth, "Contact"
    )
    return JSONResponse({"contact": contact})


@api("contacts.write")
async def create_contact(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    body = await json_body(request)
    same_location(auth, body.get("locationId"))
    existing = duplicate_of(request, auth, body)
    if existing is not None:
        raise ApiError(400, "This location does not allow duplicated contacts.")
    return JSONResponse(
        {"contact": contact_new(state, auth.location_id or "", body)}, status_code=201
    )


@api("contacts.write")
async def upsert_contact(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    body = await json_body(request)
    same_location(auth, body.get("locationId"))
    existing = duplicate_of(request, auth, body)
    if existing is None:
        return JSONResponse(
            {"new": True, "contact": contact_new(state, auth.location_id or "", body)},
            status_code=201,
        )
    return JSONResponse({"new": False, "contact": contact_apply(existing, body, state)})


@api("contacts.write")
async def update_contact(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    contact = owned(state.data["contacts"], request.path_params["contactId"], auth, "Contact")
    body = await json_body(request)
    if "locationId" in body:
        raise ApiError(422, ["property locationId should not exist"])
    return JSONResponse({"succeded": True, "contact": contact_apply(contact, body, state)})


@api("contacts.write")
async def delete_contact(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    owned(state.data["contacts"], request.path_params["contactId"], auth, "Contact")
    del state.data["contacts"][request.path_params["contactId"]]
    return JSONResponse({"succeded": True})


async def tag_list(request: Request, auth: TokenInfo) -> tuple[dict[str, Any], list[str]]:
    contact = owned(
        sandbox_state(request).data["contacts"], request.path_params["contactId"], auth, "Contact"
    )
    body = await json_body(request)
    tags = body.get("tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        raise ApiError(422, ["tags must be an array of strings"])
    return contact, tags


@api("contacts.write")
async def add_tags(request: Request, auth: TokenInfo) -> Response:
    contact, tags = await tag_list(request, auth)
    contact["tags"] = [*contact["tags"], *(t for t in tags if t not in contact["tags"])]
    return JSONResponse({"tags": contact["tags"]}, status_code=201)


@api("contacts.write")
async def remove_tags(request: Request, auth: TokenInfo) -> Response:
    contact, tags = await tag_list(request, auth)
    contact["tags"] = [t for t in contact["tags"] if t not in tags]
    return JSONResponse({"tags": contact["tags"]})


def child_rows(state: SandboxState, table: str, contact_id: str) -> list[dict[str, Any]]:
    return [row for row in state.data[table].values() if row["contactId"] == contact_id]


@api("contacts.readonly")
async def list_notes(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    owned(state.data["contacts"], request.path_params["contactId"], auth, "Contact")
    return JSONResponse({"notes": child_rows(state, "notes", request.path_params["contactId"])})


@api("contacts.write")
async def create_note(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    contact = owned(state.data["contacts"], request.path_params["contactId"], auth, "Contact")
    body = await json_body(request)
    require(body, "body")
    note = {
        "id": new_id(),
        "contactId": contact["id"],
        "body": body["body"],
        "userId": body.get("userId"),
        "dateAdded": iso_now(state),
    }
    state.data["notes"][note["id"]] = note
    return JSONResponse({"note": note}, status_code=201)


@api("contacts.readonly")
async def list_tasks(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    owned(state.data["contacts"], request.path_params["contactId"], auth, "Contact")
    return JSONResponse({"tasks": child_rows(state, "tasks", request.path_params["contactId"])})


@api("contacts.write")
async def create_task(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    contact = owned(state.data["contacts"], request.path_params["contactId"], auth, "Contact")
    body = await json_body(request)
    require(body, "title", "dueDate")
    if not isinstance(body.get("completed"), bool):
        raise ApiError(422, ["completed must be a boolean value"])
    task = {
        "id": new_id(),
        "contactId": contact["id"],
        **{k: body.get(k) for k in ("title", "body", "dueDate", "completed", "assignedTo")},
    }
    state.data["tasks"][task["id"]] = task
    return JSONResponse({"task": task}, status_code=201)


@api("contacts.write")
async def complete_task(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    owned(state.data["contacts"], request.path_params["contactId"], auth, "Contact")
    task = state.data["tasks"].get(request.path_params["taskId"])
    if task is None or task["contactId"] != request.path_params["contactId"]:
        raise ApiError(404, "Task not found")
    body = await json_body(request)
    if not isinstance(body.get("completed"), bool):
        raise ApiError(422, ["completed must be a boolean value"])
    task["completed"] = body["completed"]
    return JSONResponse({"task": task})


@api("contacts.readonly")
async def contact_appointments(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    owned(state.data["contacts"], request.path_params["contactId"], auth, "Contact")
    events = [
        a
        for a in state.data["appointments"].values()
        if a["contactId"] == request.path_params["contactId"]
    ]
    return JSONResponse({"events": events})


def enrolment(request: Request, auth: TokenInfo, table: str, key: str, what: str) -> dict[str, str]:
    state = sandbox_state(request)
    owned(state.data["contacts"], request.path_params["contactId"], auth, "Contact")
    owned(state.data[table], request.path_params[key], auth, what)
    return {"contactId": request.path_params["contactId"], key: request.path_params[key]}


@api("contacts.write")
async def add_to_workflow(request: Request, auth: TokenInfo) -> Response:
    entry = enrolment(request, auth, "workflows", "workflowId", "Workflow")
    enrolments = sandbox_state(request).data["workflow_enrolments"]
    if entry not in enrolments:
        enrolments.append(entry)
    return JSONResponse({"succeded": True})


@api("contacts.write")
async def remove_from_workflow(request: Request, auth: TokenInfo) -> Response:
    entry = enrolment(request, auth, "workflows", "workflowId", "Workflow")
    enrolments = sandbox_state(request).data["workflow_enrolments"]
    if entry in enrolments:
        enrolments.remove(entry)
    return JSONResponse({"succeded": True})


@api("contacts.write")
async def add_to_campaign(request: Request, auth: TokenInfo) -> Response:
    entry = enrolment(request, auth, "campaigns", "campaignId", "Campaign")
    enrolments = sandbox_state(request).data["campaign_enrolments"]
    if entry not in enrolments:
        enrolments.append(entry)
    return JSONResponse({"succeded": True})


routes = [
    Route("/contacts/search", search, methods=["POST"]),
    Route("/contacts/upsert", upsert_contact, methods=["POST"]),
    Route("/contacts/", list_contacts, methods=["GET"]),
    Route("/contacts/", create_contact, methods=["POST"]),
    Route("/contacts/{contactId}", get_contact, methods=["GET"]),
    Route("/contacts/{contactId}", update_contact, methods=["PUT"]),
    Route("/contacts/{contactId}", delete_contact, methods=["DELETE"]),
    Route("/contacts/{contactId}/tags", add_tags, methods=["POST"]),
    Route("/contacts/{contactId}/tags", remove_tags, methods=["DELETE"]),
    Route("/contacts/{contactId}/notes", list_notes, methods=["GET"]),
    Route("/contacts/{contactId}/notes", create_note, methods=["POST"]),
    Route("/contacts/{contactId}/tasks", list_tasks, methods=["GET"]),
    Route("/contacts/{contactId}/tasks", create_task, methods=["POST"]),
    Route("/contacts/{contactId}/tasks/{taskId}/completed", complete_task, methods=["PUT"]),
    Route("/contacts/{contactId}/appointments", contact_appointments, methods=["GET"]),
    Route("/contacts/{contactId}/workflow/{workflowId}", add_to_workflow, methods=["POST"]),
    Route("/contacts/{contactId}/workflow/{workflowId}", remove_from_workflow, methods=["DELETE"]),
    Route("/contacts/{contactId}/campaigns/{campaignId}", add_to_campaign, methods=["POST"]),
]
