"""What every sandbox API route shares: GHL's error shape, the checks GHL makes first."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcpbridge.sandbox.state import Fault, RecordedRequest, SandboxState, TokenInfo


class ApiError(Exception):
    """Raised by a route to answer with GHL's error body."""

    def __init__(self, status: int, message: str | list[str]) -> None:
        super().__init__(str(message))
        self.status = status
        self.message = message


def ghl_error(
    status: int, message: str | list[str], headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}
    return JSONResponse(body, status_code=status, headers=headers)


async def fault_wait(fault: Fault) -> None:
    """Let the time pass, and the gate open, that a fault asks for before it answers."""
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.hold is not None:
        await asyncio.to_thread(fault.hold.wait, 60)


def sandbox_state(request: Request) -> SandboxState:
    return request.app.state.sandbox


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Unexpected token in JSON body") from None
    if not isinstance(body, dict):
        raise ApiError(422, ["body must be an object"])
    return body


def require(body: dict[str, Any], *names: str) -> None:
    problems = [f"{name} should not be empty" for name in names if body.get(name) in (None, "", [])]
    if problems:
        raise ApiError(422, problems)


def same_location(auth: TokenInfo, location_id: str | None) -> None:
    """GHL refuses a location token aimed at another location."""
    if location_id is None:
        raise ApiError(422, ["locationId should not be empty"])
    if auth.location_id != location_id:
        raise ApiError(403, "The token does not have access to this location.")


def rows_of(
    request: Request, table: str, auth: TokenInfo, field: str = "locationId"
) -> list[dict[str, Any]]:
    """The rows of ``table`` that belong to the token's location."""
    return [
        row
        for row in sandbox_state(request).data[table].values()
        if row.get(field) == auth.location_id
    ]


def owned(
    table: dict[str, Any], key: str, auth: TokenInfo, what: str, field: str = "locationId"
) -> dict[str, Any]:
    row = table.get(key)
    if row is None or row.get(field) != auth.location_id:
        raise ApiError(404, f"{what} not found")
    return row


Handler = Callable[[Request, TokenInfo], Awaitable[Response]]


def api(scope: str | None) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a route with GHL's checks: faults, Version, token, burst limit, scope."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            state = sandbox_state(request)
            generation = state.generation
            arrived = state.now()
            auth = state.token_lookup(bearer_token(request) or "")
            response = await guarded(request, state, auth, scope, handler)
            state.record(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    query=request.url.query,
                    location_id=auth.location_id if auth else None,
                    version=request.headers.get("Version"),
                    status=response.status_code,
                    at=arrived,
                ),
                generation,
            )
            return response

        return endpoint

    return wrap


async def guarded(
    request: Request,
    state: SandboxState,
    auth: TokenInfo | None,
    scope: str | None,
    handler: Handler,
) -> Response:
    fault = state.fault_take(request.method, request.url.path)
    if fault is not None:
        await fault_wait(fault)
        if fault.status:
            return ghl_error(fault.status, fault.message, fault.headers)
    if not request.headers.get("Version"):
        return ghl_error(401, "version header was not found")
    if auth is None:
        return ghl_error(401, "Invalid token: access token is invalid or expired")
    limited, headers = state.rate_hit(auth.location_id or auth.company_id)
    if limited:
        return ghl_error(429, "Too many requests, please try again later.", headers)
    if scope and not auth.allows(scope):
        return ghl_error(401, "The token is not authorized for this scope.", headers)
    await request.body()  # read before taking the lock, so the lock never waits on the network
    try:
        with state.lock:
            response = await handler(request, auth)
    except ApiError as exc:
        response = ghl_error(exc.status, exc.message)
    response.headers.update(headers)
    return response
