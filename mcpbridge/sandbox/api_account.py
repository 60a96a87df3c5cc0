"""The sub-account itself: location, users, tags, custom fields and values, workflows, campaigns."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcpbridge.sandbox.state import TokenInfo
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


@api("locations.readonly")
async def get_location(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.path_params["locationId"])
    return JSONResponse({"location": sandbox_state(request).data["locations"][auth.location_id]})


# A few IANA zones: enough to pick from, as GHL's much longer list would be.
TIMEZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]


@api("locations.readonly")
async def timezones(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.path_params["locationId"])
    return JSONResponse({"timeZones": TIMEZONES})


@api("locations/tags.readonly")
async def tags(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.path_params["locationId"])
    return JSONResponse({"tags": rows_of(request, "tags", auth)})


@api("locations/customFields.readonly")
async def custom_fields(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.path_params["locationId"])
    model = request.query_params.get("model")
    rows = [
        r for r in rows_of(request, "custom_fields", auth) if model in (None, "all", r["model"])
    ]
    return JSONResponse({"customFields": rows})


@api("locations/customValues.readonly")
async def custom_values(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.path_params["locationId"])
    return JSONResponse({"customValues": rows_of(request, "custom_values", auth)})


@api("locations/customValues.write")
async def update_custom_value(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.path_params["locationId"])
    row = owned(
        sandbox_state(request).data["custom_values"],
        request.path_params["id"],
        auth,
        "Custom value",
    )
    body = await json_body(request)
    require(body, "name")
    if not isinstance(body.get("value"), str):
        raise ApiError(422, ["value must be a string"])
    row.update(name=body["name"], value=body["value"])
    return JSONResponse({"customValue": row})


def visible_user(user: dict[str, Any], auth: TokenInfo) -> bool:
    if auth.location_id is None:
        return user["companyId"] == auth.company_id
    return auth.location_id in user["roles"]["locationIds"]


@api("users.readonly")
async def users(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.query_params.get("locationId"))
    rows = [u for u in sandbox_state(request).data["users"].values() if visible_user(u, auth)]
    return JSONResponse({"users": rows})


@api("users.readonly")
async def get_user(request: Request, auth: TokenInfo) -> Response:
    user = sandbox_state(request).data["users"].get(request.path_params["userId"])
    if user is None or not visible_user(user, auth):
        raise ApiError(404, "User not found")
    return JSONResponse({k: v for k, v in user.items() if k != "companyId"})


@api("workflows.readonly")
async def workflows(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.query_params.get("locationId"))
    return JSONResponse({"workflows": rows_of(request, "workflows", auth)})


@api("campaigns.readonly")
async def campaigns(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.query_params.get("locationId"))
    status = request.query_params.get("status")
    rows = [r for r in rows_of(request, "campaigns", auth) if status in (None, r["status"])]
    return JSONResponse({"campaigns": rows})


routes = [
    Route("/locations/{locationId}", get_location, methods=["GET"]),
    Route("/locations/{locationId}/tags", tags, methods=["GET"]),
    Route("/locations/{locationId}/timezones", timezones, methods=["GET"]),
    Route("/locations/{locationId}/customFields", custom_fields, methods=["GET"]),
    Route("/locations/{locationId}/customValues", custom_values, methods=["GET"]),
    Route("/locations/{locationId}/customValues/{id}", update_custom_value, methods=["PUT"]),
    Route("/users/", users, methods=["GET"]),
    Route("/users/{userId}", get_user, methods=["GET"]),
    Route("/workflows/", workflows, methods=["GET"]),
    Route("/campaigns/", campaigns, methods=["GET"]),
]
