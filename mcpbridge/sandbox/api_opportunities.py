"""Opportunities: search, pipelines, get, create, update, status, delete."""

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

STATUSES = ("open", "won", "lost", "abandoned")
FIELDS = (
    "name",
    "pipelineId",
    "pipelineStageId",
    "status",
    "monetaryValue",
    "assignedTo",
    "customFields",
)


def opportunity_filter(rows: list[dict[str, Any]], query: Any) -> list[dict[str, Any]]:
    pairs = (
        ("pipeline_id", "pipelineId"),
        ("pipeline_stage_id", "pipelineStageId"),
        ("contact_id", "contactId"),
        ("assigned_to", "assignedTo"),
        ("id", "id"),
    )
    for param, field in pairs:
        if query.get(param):
            rows = [r for r in rows if r.get(field) == query[param]]
    if query.get("status") and query["status"] != "all":
        rows = [r for r in rows if r["status"] == query["status"]]
    if query.get("q"):
        rows = [r for r in rows if query["q"].lower() in r["name"].lower()]
    return rows


@api("opportunities.readonly")
async def search(request: Request, auth: TokenInfo) -> Response:
    query = request.query_params
    same_location(auth, query.get("location_id"))
    rows = opportunity_filter(rows_of(request, "opportunities", auth), query)
    limit = int(query.get("limit") or 20)
    page = int(query.get("page") or 1)
    meta = {
        "total": len(rows),
        "currentPage": page,
        "nextPage": page + 1 if len(rows) > page * limit else None,
    }
    return JSONResponse({"opportunities": rows[(page - 1) * limit : page * limit], "meta": meta})


@api("opportunities.readonly")
async def pipelines(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.query_params.get("locationId"))
    return JSONResponse({"pipelines": rows_of(request, "pipelines", auth)})


def stage_check(
    state: SandboxState, auth: TokenInfo, pipeline_id: str, stage_id: str | None
) -> None:
    pipeline = owned(state.data["pipelines"], pipeline_id, auth, "Pipeline")
    if stage_id and stage_id not in {s["id"] for s in pipeline["stages"]}:
        raise ApiError(422, ["pipelineStageId does not belong to the pipeline"])


def status_check(body: dict[str, Any]) -> None:
    if "status" in body and body["status"] not in STATUSES:
        raise ApiError(422, [f"status must be one of the following values: {', '.join(STATUSES)}"])


@api("opportunities.readonly")
async def get_opportunity(request: Request, auth: TokenInfo) -> Response:
    return JSONResponse(
        {
            "opportunity": owned(
                sandbox_state(request).data["opportunities"],
                request.path_params["id"],
                auth,
                "Opportunity",
            )
        }
    )


@api("opportunities.write")
async def create(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    body = await json_body(request)
    require(body, "pipelineId", "locationId", "name", "status", "contactId")
    same_location(auth, body["locationId"])
    status_check(body)
    stage_check(state, auth, body["pipelineId"], body.get("pipelineStageId"))
    owned(state.data["contacts"], body["contactId"], auth, "Contact")
    pipeline = state.data["pipelines"][body["pipelineId"]]
    stamp = iso_now(state)
    row = {
        "id": new_id(),
        "locationId": auth.location_id,
        "contactId": body["contactId"],
        "pipelineStageId": pipeline["stages"][0]["id"],
        "createdAt": stamp,
    }
    row.update({k: body[k] for k in FIELDS if k in body}, updatedAt=stamp)
    state.data["opportunities"][row["id"]] = row
    return JSONResponse({"opportunity": row}, status_code=201)


@api("opportunities.write")
async def update(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    row = owned(state.data["opportunities"], request.path_params["id"], auth, "Opportunity")
    body = await json_body(request)
    status_check(body)
    if body.get("pipelineId") or body.get("pipelineStageId"):
        stage_check(
            state, auth, body.get("pipelineId") or row["pipelineId"], body.get("pipelineStageId")
        )
    row.update({k: body[k] for k in FIELDS if k in body}, updatedAt=iso_now(state))
    return JSONResponse({"opportunity": row})


@api("opportunities.write")
async def set_status(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    row = owned(state.data["opportunities"], request.path_params["id"], auth, "Opportunity")
    body = await json_body(request)
    require(body, "status")
    status_check(body)
    row.update(
        status=body["status"],
        lostReasonId=body.get("lostReasonId"),
        lastStatusChangeAt=iso_now(state),
    )
    return JSONResponse({"succeded": True})


@api("opportunities.write")
async def delete(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    owned(state.data["opportunities"], request.path_params["id"], auth, "Opportunity")
    del state.data["opportunities"][request.path_params["id"]]
    return JSONResponse({"succeded": True})


routes = [
    Route("/opportunities/search", search, methods=["GET"]),
    Route("/opportunities/pipelines", pipelines, methods=["GET"]),
    Route("/opportunities/", create, methods=["POST"]),
    Route("/opportunities/{id}", get_opportunity, methods=["GET"]),
    Route("/opportunities/{id}", update, methods=["PUT"]),
    Route("/opportunities/{id}", delete, methods=["DELETE"]),
    Route("/opportunities/{id}/status", set_status, methods=["PUT"]),
]
