"""Building blocks of the core tools: schema helpers, date handling, the CoreTool type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcpbridge.ghl.calls import ArgumentError
from mcpbridge.ghl.catalogue import LocationSlot, Operation

Schema = dict[str, Any]


def text(description: str, **extra: Any) -> Schema:
    return {"type": "string", "description": description, **extra}


def ident(what: str) -> Schema:
    return {"type": "string", "minLength": 1, "description": f"The {what} id."}


def count(description: str, *, maximum: int = 100, default: int = 20) -> Schema:
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": maximum,
        "default": default,
        "description": description,
    }


def choice(description: str, values: list[str]) -> Schema:
    return {"type": "string", "enum": values, "description": description}


def strings(description: str) -> Schema:
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": 1,
        "description": description,
    }


WHEN = "ISO 8601 date-time with offset, e.g. 2025-03-01T09:30:00-05:00"
DAY_OR_TIME = "ISO 8601 date or date-time, e.g. 2025-03-01 or 2025-03-01T09:30:00Z"
CUSTOM_FIELDS: Schema = {
    "type": "array",
    "description": "Custom field values: [{id, value}] (ids from list_custom_fields).",
    "items": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "key": {"type": "string"}, "value": {}},
        "anyOf": [{"required": ["id"]}, {"required": ["key"]}],
    },
}
CONTACT_FIELDS: dict[str, Schema] = {
    "firstName": text("First name."),
    "lastName": text("Last name."),
    "name": text("Full name, when first and last are not known apart."),
    "email": text("Email address."),
    "phone": text("Phone number in E.164 form, e.g. +14155550123."),
    "companyName": text("Company name."),
    "address1": text("Street address."),
    "city": text("City."),
    "state": text("State or region."),
    "postalCode": text("Postal code."),
    "country": text("Two-letter country code, e.g. US."),
    "website": text("Website URL."),
    "timezone": text("IANA time zone, e.g. America/New_York."),
    "source": text("Where the contact came from."),
    "assignedTo": text("User id of the contact's owner."),
    "tags": strings("Tags to set."),
    "customFields": CUSTOM_FIELDS,
}
OPPORTUNITY_STATUSES = ["open", "won", "lost", "abandoned"]


def epoch_ms(value: Any, *, timezone: str | None = None, end_of_day: bool = False) -> int:
    """Milliseconds since the epoch from ISO text (a bare date is read in ``timezone``)."""
    if isinstance(value, int | float):
        return int(value)
    raw = str(value).strip()
    if raw.isdigit():
        return int(raw)
    try:
        zone = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        raise ArgumentError(f"unknown time zone {timezone!r}") from None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=zone)
        else:
            moment = datetime.fromisoformat(raw)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
    except ValueError:
        raise ArgumentError(f"{raw!r} is not an ISO 8601 date or date-time") from None
    return int(moment.timestamp() * 1000)


def slot_window(args: dict[str, Any]) -> dict[str, Any]:
    zone = args.get("timezone")
    args["startDate"] = epoch_ms(args["startDate"], timezone=zone)
    args["endDate"] = epoch_ms(args["endDate"], timezone=zone, end_of_day=True)
    return args


def event_window(args: dict[str, Any]) -> dict[str, Any]:
    args["startTime"] = str(epoch_ms(args["startTime"]))
    args["endTime"] = str(epoch_ms(args["endTime"], end_of_day=True))
    return args


def needs_one_of(*names: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check(args: dict[str, Any]) -> dict[str, Any]:
        if not any(args.get(name) for name in names):
            raise ArgumentError(f"give at least one of: {', '.join(names)}")
        return args

    return check


def chain(
    *steps: Callable[[dict[str, Any]], dict[str, Any]],
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def run(args: dict[str, Any]) -> dict[str, Any]:
        for step in steps:
            args = step(args)
        return args

    return run


@dataclass(frozen=True)
class CoreTool:
    name: str
    operation: str
    description: str
    properties: dict[str, Schema] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    extra_slots: tuple[LocationSlot, ...] = ()
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def input_schema(self) -> Schema:
        schema: Schema = {
            "type": "object",
            "properties": self.properties,
            "additionalProperties": False,
        }
        if self.required:
            schema["required"] = list(self.required)
        return schema

    def operation_arguments(self, op: Operation, arguments: dict[str, Any]) -> dict[str, Any]:
        """Route validated core arguments onto the operation's parameters and body."""
        args = dict(arguments)
        for name, schema in self.properties.items():
            if name not in args and "default" in schema:
                args[name] = schema["default"]
        if self.prepare is not None:
            args = self.prepare(args)
        params = {p.name for p in op.params}
        routed: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for name, value in [*args.items(), *self.fixed.items()]:
            if name not in self.properties and name not in self.fixed:
                continue
            target = self.rename.get(name, name)
            if target is None:
                continue
            if target in params:
                routed[target] = value
            else:
                body[target] = value
        if body or op.body is not None:
            routed["body"] = body
        return routed


BODY_LOCATION = (LocationSlot(location="body", name="locationId"),)
