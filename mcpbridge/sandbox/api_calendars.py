"""Calendars: list, free slots, appointments (book, change, cancel, list, get, delete)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

MAX_SLOT_DAYS = 31


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(422, [f"timezone {name} is invalid"]) from None


def millis(value: str | None, name: str) -> int:
    try:
        return int(float(value or ""))
    except ValueError:
        raise ApiError(422, [f"{name} must be a number (milliseconds)"]) from None


def parse_time(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ApiError(422, [f"{name} must be a valid ISO 8601 date string"]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@api("calendars.readonly")
async def list_calendars(request: Request, auth: TokenInfo) -> Response:
    same_location(auth, request.query_params.get("locationId"))
    rows = rows_of(request, "calendars", auth)
    if request.query_params.get("groupId"):
        rows = [c for c in rows if c["groupId"] == request.query_params["groupId"]]
    return JSONResponse({"calendars": rows})


def booked_starts(state: SandboxState, calendar_id: str) -> set[datetime]:
    return {
        parse_time(a["startTime"], "startTime")
        for a in state.data["appointments"].values()
        if a["calendarId"] == calendar_id and a["appointmentStatus"] != "cancelled"
    }


def day_slots(calendar: dict[str, Any], day: datetime, taken: set[datetime]) -> list[str]:
    hours = calendar["openHours"][0]
    if day.isoweekday() % 7 not in hours["daysOfTheWeek"]:
        return []
    window = hours["hours"][0]
    start = day.replace(hour=window["openHour"], minute=window["openMinute"])
    end = day.replace(hour=window["closeHour"], minute=window["closeMinute"])
    step = timedelta(minutes=calendar["slotDuration"])
    slots = []
    while start + step <= end:
        if start not in taken:
            slots.append(start.isoformat())
        start += step
    return slots


@api("calendars.readonly")
async def free_slots(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    calendar = owned(state.data["calendars"], request.path_params["calendarId"], auth, "Calendar")
    start = millis(request.query_params.get("startDate"), "startDate")
    end = millis(request.query_params.get("endDate"), "endDate")
    if end < start or end - start > MAX_SLOT_DAYS * 86_400_000:
        raise ApiError(
            422, ["Date range cannot be more than 31 days, and endDate must follow startDate"]
        )
    location = state.data["locations"][calendar["locationId"]]
    tz = zone(request.query_params.get("timezone") or location["timezone"])
    day = datetime.fromtimestamp(start / 1000, tz).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    last = datetime.fromtimestamp(end / 1000, tz)
    taken = booked_starts(state, calendar["id"])
    result: dict[str, Any] = {}
    while day <= last:
        slots = day_slots(calendar, day, taken)
        if slots:
            result[day.date().isoformat()] = {"slots": slots}
        day += timedelta(days=1)
    return JSONResponse({**result, "traceId": new_id()})


def appointment_times(
    calendar: dict[str, Any], body: dict[str, Any], current: dict[str, Any] | None = None
) -> tuple[str, str]:
    start = parse_time(body.get("startTime") or (current or {}).get("startTime"), "startTime")
    if body.get("endTime"):
        end = parse_time(body["endTime"], "endTime")
    else:
        end = start + timedelta(minutes=calendar["slotDuration"])
    if end <= start:
        raise ApiError(422, ["endTime must be after startTime"])
    return start.isoformat(), end.isoformat()


def slot_free(state: SandboxState, calendar_id: str, start: str, ignore: str | None = None) -> bool:
    moment = parse_time(start, "startTime")
    return not any(
        a["calendarId"] == calendar_id
        and a["id"] != ignore
        and a["appointmentStatus"] != "cancelled"
        and parse_time(a["startTime"], "startTime") == moment
        for a in state.data["appointments"].values()
    )


@api("calendars/events.write")
async def book(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    body = await json_body(request)
    require(body, "calendarId", "locationId", "contactId", "startTime")
    same_location(auth, body["locationId"])
    calendar = owned(state.data["calendars"], body["calendarId"], auth, "Calendar")
    owned(state.data["contacts"], body["contactId"], auth, "Contact")
    start, end = appointment_times(calendar, body)
    if not body.get("ignoreFreeSlotValidation") and not slot_free(state, calendar["id"], start):
        raise ApiError(400, "The slot you have selected is no longer available.")
    stamp = iso_now(state)
    appointment = {
        "id": new_id(),
        "calendarId": calendar["id"],
        "locationId": calendar["locationId"],
        "contactId": body["contactId"],
        "groupId": calendar["groupId"],
        "title": body.get("title") or calendar["name"],
        "appointmentStatus": body.get("appointmentStatus") or "confirmed",
        "assignedUserId": body.get("assignedUserId") or calendar["teamMembers"][0]["userId"],
        "address": body.get("address"),
        "startTime": start,
        "endTime": end,
        "isRecurring": False,
        "dateAdded": stamp,
        "dateUpdated": stamp,
    }
    state.data["appointments"][appointment["id"]] = appointment
    return JSONResponse(appointment, status_code=201)


@api("calendars/events.write")
async def edit(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    appointment = owned(
        state.data["appointments"], request.path_params["eventId"], auth, "Appointment"
    )
    body = await json_body(request)
    calendar = state.data["calendars"][body.get("calendarId") or appointment["calendarId"]]
    if "startTime" in body or "endTime" in body:
        start, end = appointment_times(calendar, body, appointment)
        if not body.get("ignoreFreeSlotValidation") and not slot_free(
            state, calendar["id"], start, appointment["id"]
        ):
            raise ApiError(400, "The slot you have selected is no longer available.")
        appointment.update(startTime=start, endTime=end)
    for field in ("title", "appointmentStatus", "assignedUserId", "address", "calendarId"):
        if field in body:
            appointment[field] = body[field]
    appointment["dateUpdated"] = iso_now(state)
    return JSONResponse(appointment)


@api("calendars/events.readonly")
async def get_appointment(request: Request, auth: TokenInfo) -> Response:
    return JSONResponse(
        {
            "event": owned(
                sandbox_state(request).data["appointments"],
                request.path_params["eventId"],
                auth,
                "Appointment",
            )
        }
    )


@api("calendars/events.write")
async def delete_event(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    owned(state.data["appointments"], request.path_params["eventId"], auth, "Event")
    del state.data["appointments"][request.path_params["eventId"]]
    return JSONResponse({"succeeded": True}, status_code=201)


@api("calendars/events.readonly")
async def events(request: Request, auth: TokenInfo) -> Response:
    query = request.query_params
    same_location(auth, query.get("locationId"))
    if not any(query.get(k) for k in ("calendarId", "userId", "groupId")):
        raise ApiError(422, ["Either of calendarId, userId or groupId is required"])
    start = millis(query.get("startTime"), "startTime")
    end = millis(query.get("endTime"), "endTime")
    rows = []
    for a in sandbox_state(request).data["appointments"].values():
        moment = parse_time(a["startTime"], "startTime").timestamp() * 1000
        if a["locationId"] != auth.location_id or not start <= moment <= end:
            continue
        if all(
            not query.get(k) or a.get(f) == query[k]
            for k, f in (
                ("calendarId", "calendarId"),
                ("userId", "assignedUserId"),
                ("groupId", "groupId"),
            )
        ):
            rows.append(a)
    return JSONResponse({"events": sorted(rows, key=lambda a: a["startTime"])})


routes = [
    Route("/calendars/", list_calendars, methods=["GET"]),
    Route("/calendars/events", events, methods=["GET"]),
    Route("/calendars/events/appointments", book, methods=["POST"]),
    Route("/calendars/events/appointments/{eventId}", edit, methods=["PUT"]),
    Route("/calendars/events/appointments/{eventId}", get_appointment, methods=["GET"]),
    Route("/calendars/events/{eventId}", delete_event, methods=["DELETE"]),
    Route("/calendars/{calendarId}/free-slots", free_slots, methods=["GET"]),
]
