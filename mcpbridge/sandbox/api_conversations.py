"""Conversations: search, read messages, send SMS and email."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcpbridge.sandbox.api_contacts import iso_now
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

MESSAGE_TYPES = {
    "SMS": "TYPE_SMS",
    "Email": "TYPE_EMAIL",
    "WhatsApp": "TYPE_WHATSAPP",
    "RCS": "TYPE_RCS",
    "IG": "TYPE_INSTAGRAM",
    "FB": "TYPE_FACEBOOK",
    "Custom": "TYPE_CUSTOM_SMS",
    "Live_Chat": "TYPE_LIVE_CHAT",
}


@api("conversations.readonly")
async def search(request: Request, auth: TokenInfo) -> Response:
    query = request.query_params
    same_location(auth, query.get("locationId"))
    rows = rows_of(request, "conversations", auth)
    if query.get("contactId"):
        rows = [c for c in rows if c["contactId"] == query["contactId"]]
    if query.get("query"):
        needle = query["query"].lower()
        rows = [
            c for c in rows if needle in f"{c.get('fullName')} {c.get('lastMessageBody')}".lower()
        ]
    if query.get("status") == "unread":
        rows = [c for c in rows if c.get("unreadCount")]
    rows.sort(key=lambda c: c.get("dateUpdated", ""), reverse=True)
    limit = int(query.get("limit") or 20)
    return JSONResponse({"conversations": rows[:limit], "total": len(rows)})


@api("conversations.readonly")
async def get_conversation(request: Request, auth: TokenInfo) -> Response:
    return JSONResponse(
        owned(
            sandbox_state(request).data["conversations"],
            request.path_params["conversationId"],
            auth,
            "Conversation",
        )
    )


@api("conversations/message.readonly")
async def messages(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    convo = owned(
        state.data["conversations"], request.path_params["conversationId"], auth, "Conversation"
    )
    rows = sorted(
        (m for m in state.data["messages"].values() if m["conversationId"] == convo["id"]),
        key=lambda m: m["dateAdded"],
        reverse=True,
    )
    limit = int(request.query_params.get("limit") or 20)
    page = rows[:limit]
    return JSONResponse(
        {
            "messages": {
                "lastMessageId": page[-1]["id"] if page else None,
                "nextPage": len(rows) > limit,
                "messages": page,
            }
        }
    )


def conversation_for(state: SandboxState, contact: dict[str, Any]) -> dict[str, Any]:
    for convo in state.data["conversations"].values():
        if convo["contactId"] == contact["id"]:
            return convo
    convo = {
        "id": new_id(),
        "locationId": contact["locationId"],
        "contactId": contact["id"],
        "type": "TYPE_PHONE",
        "unreadCount": 0,
        "fullName": contact.get("name"),
        "email": contact.get("email"),
        "phone": contact.get("phone"),
    }
    state.data["conversations"][convo["id"]] = convo
    return convo


def message_check(contact: dict[str, Any], body: dict[str, Any]) -> None:
    require(body, "type", "contactId")
    if body["type"] not in MESSAGE_TYPES:
        raise ApiError(
            422, [f"type must be one of the following values: {', '.join(MESSAGE_TYPES)}"]
        )
    if body["type"] == "SMS":
        require(body, "message")
        if not contact.get("phone"):
            raise ApiError(400, "Contact does not have a phone number")
    if body["type"] == "Email":
        require(body, "subject")
        if not (body.get("html") or body.get("message")):
            raise ApiError(422, ["html or message should not be empty"])
        if not (body.get("emailTo") or contact.get("email")):
            raise ApiError(400, "Contact does not have an email address")


@api("conversations/message.write")
async def send(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    body = await json_body(request)
    contact = owned(state.data["contacts"], str(body.get("contactId") or ""), auth, "Contact")
    message_check(contact, body)
    convo = conversation_for(state, contact)
    stamp = iso_now(state)
    message = {
        "id": new_id(),
        "conversationId": convo["id"],
        "locationId": contact["locationId"],
        "contactId": contact["id"],
        "messageType": MESSAGE_TYPES[body["type"]],
        "direction": "outbound",
        "status": "pending",
        "body": body.get("message") or body.get("html"),
        "dateAdded": stamp,
    }
    if body["type"] == "Email":
        message["meta"] = {
            "email": {"subject": body["subject"], "to": body.get("emailTo") or contact.get("email")}
        }
    state.data["messages"][message["id"]] = message
    convo.update(
        lastMessageBody=message["body"], lastMessageType=message["messageType"], dateUpdated=stamp
    )
    answer = {
        "conversationId": convo["id"],
        "messageId": message["id"],
        "msg": "Message queued successfully.",
    }
    if body["type"] == "Email":
        answer["emailMessageId"] = message["id"]
    return JSONResponse(answer)


routes = [
    Route("/conversations/search", search, methods=["GET"]),
    Route("/conversations/messages", send, methods=["POST"]),
    Route("/conversations/{conversationId}", get_conversation, methods=["GET"]),
    Route("/conversations/{conversationId}/messages", messages, methods=["GET"]),
]
