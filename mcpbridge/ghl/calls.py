"""Turn tool arguments into a GHL request: validate them, fill the location, build the URL."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator

from mcpbridge.ghl.catalogue import LocationSlot, Operation
from mcpbridge.ghl.client import PreparedRequest
from mcpbridge.ghl.errors import GhlServerError

LOCATION_KEYS = frozenset({"locationId", "location_id"})
MAX_ERRORS = 5


class ArgumentError(GhlServerError):
    """The caller's arguments cannot be sent; the message says why."""

    code = "invalid_arguments"
    permanent = True


@lru_cache(maxsize=1024)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def arguments_validate(schema: dict[str, Any], arguments: dict[str, Any]) -> None:
    """Raise ArgumentError listing (a few of) the ways ``arguments`` break ``schema``."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.path)))
    if not errors:
        return
    lines = [f"{'.'.join(map(str, e.path)) or 'arguments'}: {e.message[:200]}" for e in errors]
    extra = f" (and {len(lines) - MAX_ERRORS} more)" if len(lines) > MAX_ERRORS else ""
    raise ArgumentError("invalid arguments: " + "; ".join(lines[:MAX_ERRORS]) + extra)


def location_guard(value: Any, location_id: str, where: str) -> None:
    """Refuse any location other than this child's own, wherever the caller put one."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in LOCATION_KEYS and item not in (None, location_id):
                raise ArgumentError(
                    f"{where}{key} is fixed to this sub-account "
                    "and cannot point at another location"
                )
            foreign = isinstance(item, list) and any(entry != location_id for entry in item)
            if key == "locationIds" and foreign:
                raise ArgumentError(
                    f"{where}locationIds may only name this sub-account's own location"
                )
            location_guard(item, location_id, f"{where}{key}.")
    elif isinstance(value, list):
        for item in value:
            location_guard(item, location_id, where)


def strip_location(op: Operation, arguments: dict[str, Any], location_id: str) -> dict[str, Any]:
    """Check the caller did not aim elsewhere, then drop the slots the server fills."""
    for slot in op.location_slots:
        container = arguments.get("body") if slot.location == "body" else arguments
        if not isinstance(container, dict) or slot.name not in container:
            continue
        expected = slot.value if slot.value is not None else location_id
        if container[slot.name] != expected:
            raise ArgumentError(
                f"{slot.name} is fixed to this sub-account and cannot point at another location"
            )
    location_guard(arguments, location_id, "")
    cleaned = {
        k: v
        for k, v in arguments.items()
        if k not in op.slot_names("path") | op.slot_names("query")
    }
    if isinstance(cleaned.get("body"), dict):
        hidden = op.slot_names("body")
        cleaned["body"] = {k: v for k, v in cleaned["body"].items() if k not in hidden}
    return cleaned


def query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def query_pairs(name: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, list):
        return [(name, query_value(item)) for item in value]
    return [(name, query_value(value))]


def fill_path(template: str, values: dict[str, Any]) -> str:
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(query_value(value), safe=""))
    return path


def slot_value(slot: LocationSlot, location_id: str) -> str:
    return slot.value if slot.value is not None else location_id


def request_build(
    op: Operation,
    arguments: dict[str, Any],
    *,
    location_id: str,
    extra_slots: Iterable[LocationSlot] = (),
) -> PreparedRequest:
    """Build the request for already-validated, location-free arguments."""
    slots = (*op.location_slots, *extra_slots)
    path_values = {
        p.name: arguments[p.name] for p in op.params if p.location == "path" and p.name in arguments
    }
    params: list[tuple[str, str]] = []
    for param in op.params:
        if param.location == "query" and not param.mirror and arguments.get(param.name) is not None:
            params.extend(query_pairs(param.name, arguments[param.name]))
    body = body_filled(op, arguments.get("body"))
    for slot in slots:
        value = slot_value(slot, location_id)
        if slot.location == "path":
            path_values[slot.name] = value
        elif slot.location == "query":
            params.append((slot.name, value))
        else:
            body = {**(body or {}), slot.name: value}
    missing = [name for name in _path_names(op.path) if name not in path_values]
    if missing:
        raise ArgumentError(f"missing path parameter(s): {', '.join(missing)}")
    for param in op.params:
        if param.mirror:
            params.extend(query_pairs(param.name, path_values[param.name]))
    return _with_body(op, fill_path(op.path, path_values), params, body)


def body_filled(op: Operation, body: Any) -> Any:
    """The caller's body with the fields the server fills, or {} where the spec needs one."""
    if op.body is None:
        return body
    if body is None and op.body.required and op.body.schema.get("type", "object") == "object":
        body = {}
    if isinstance(body, dict) and op.fills:
        body = dict(body)
        for fill in op.fills:
            if body.get(fill.name) is None:
                body[fill.name] = fill.value_for(body)
    return body


def _path_names(template: str) -> list[str]:
    names: list[str] = []
    rest = template
    while "{" in rest:
        start = rest.index("{")
        end = rest.index("}", start)
        names.append(rest[start + 1 : end])
        rest = rest[end + 1 :]
    return names


def _with_body(
    op: Operation, path: str, params: list[tuple[str, str]], body: Any
) -> PreparedRequest:
    common: dict[str, Any] = {
        "method": op.method,
        "path": path,
        "template": op.path,
        "version": op.version,
        "idempotent": op.idempotent,
        "params": params,
    }
    if body is None or op.body is None:
        return PreparedRequest(**common, json=body if op.body is not None else None)
    if op.body.content_type == "multipart/form-data":
        return PreparedRequest(**common, files=multipart_parts(op, body))
    if op.body.content_type == "application/x-www-form-urlencoded":
        return PreparedRequest(**common, data={k: query_value(v) for k, v in body.items()})
    return PreparedRequest(**common, json=body)


def multipart_parts(op: Operation, body: dict[str, Any]) -> dict[str, tuple[str | None, bytes]]:
    """Every field as a part: files (base64 in the schema) decoded, the rest as text.

    Text fields go as parts without a file name, so the request is multipart/form-data
    as the spec says even when it carries no file.
    """
    schema = op.body.schema if op.body else {}
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    parts: dict[str, tuple[str | None, bytes]] = {}
    for name, value in body.items():
        field = props.get(name, extra if isinstance(extra, dict) else {})
        if field.get("contentEncoding") == "base64":
            try:
                parts[name] = (name, base64.b64decode(str(value), validate=True))
            except (binascii.Error, ValueError):
                raise ArgumentError(f"body.{name} must be base64-encoded file content") from None
        else:
            parts[name] = (None, query_value(value).encode())
    return parts


def operation_request(
    op: Operation, arguments: dict[str, Any], *, location_id: str
) -> PreparedRequest:
    """Validate a generic operation call (path/query by name, ``body``) and build its request."""
    cleaned = strip_location(op, arguments, location_id)
    arguments_validate(op.input_schema, cleaned)
    return request_build(op, cleaned, location_id=location_id)
