"""Invoices (list, get, send) and products (list, get)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcpbridge.sandbox.api_contacts import iso_now
from mcpbridge.sandbox.state import TokenInfo
from mcpbridge.sandbox.web import (
    ApiError,
    api,
    json_body,
    require,
    rows_of,
    same_location,
    sandbox_state,
)

SEND_ACTIONS = ("sms_and_email", "send_manually", "email", "sms")


def alt_location(source: Any, auth: TokenInfo) -> None:
    if source.get("altType") != "location":
        raise ApiError(422, ["altType must be one of the following values: location"])
    same_location(auth, source.get("altId"))


def invoice_for(request: Request, auth: TokenInfo) -> dict[str, Any]:
    row = sandbox_state(request).data["invoices"].get(request.path_params["invoiceId"])
    if row is None or row["altId"] != auth.location_id:
        raise ApiError(404, "Invoice not found")
    return row


@api("invoices.readonly")
async def list_invoices(request: Request, auth: TokenInfo) -> Response:
    query = request.query_params
    alt_location(query, auth)
    require(dict(query), "limit", "offset")
    rows = rows_of(request, "invoices", auth, field="altId")
    if query.get("status"):
        rows = [r for r in rows if r["status"] == query["status"]]
    if query.get("contactId"):
        rows = [r for r in rows if r["contactDetails"]["id"] == query["contactId"]]
    offset, limit = int(query["offset"]), int(query["limit"])
    return JSONResponse({"invoices": rows[offset : offset + limit], "total": len(rows)})


@api("invoices.readonly")
async def get_invoice(request: Request, auth: TokenInfo) -> Response:
    alt_location(request.query_params, auth)
    return JSONResponse(invoice_for(request, auth))


@api("invoices.write")
async def send_invoice(request: Request, auth: TokenInfo) -> Response:
    body = await json_body(request)
    require(body, "altId", "altType", "userId", "action")
    alt_location(body, auth)
    if body["action"] not in SEND_ACTIONS:
        raise ApiError(
            422, [f"action must be one of the following values: {', '.join(SEND_ACTIONS)}"]
        )
    if not isinstance(body.get("liveMode"), bool):
        raise ApiError(422, ["liveMode must be a boolean value"])
    row = invoice_for(request, auth)
    if row["status"] == "void":
        raise ApiError(400, "A void invoice cannot be sent")
    row.update(status="sent", sentAt=iso_now(sandbox_state(request)))
    return JSONResponse(
        {
            "invoice": row,
            "emailData": {"sent": "email" in body["action"]},
            "smsData": {"sent": "sms" in body["action"]},
        }
    )


@api("products.readonly")
async def list_products(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.query_params.get("locationId"))
    search = (request.query_params.get("search") or "").lower()
    rows = [r for r in rows_of(request, "products", auth) if search in r["name"].lower()]
    return JSONResponse({"products": rows, "total": [{"total": len(rows)}]})


@api("products.readonly")
async def get_product(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.query_params.get("locationId"))
    row = sandbox_state(request).data["products"].get(request.path_params["productId"])
    if row is None or row["locationId"] != auth.location_id:
        raise ApiError(404, "Product not found")
    return JSONResponse(row)


routes = [
    Route("/invoices/", list_invoices, methods=["GET"]),
    Route("/invoices/{invoiceId}", get_invoice, methods=["GET"]),
    Route("/invoices/{invoiceId}/send", send_invoice, methods=["POST"]),
    Route("/products/", list_products, methods=["GET"]),
    Route("/products/{productId}", get_product, methods=["GET"]),
]
