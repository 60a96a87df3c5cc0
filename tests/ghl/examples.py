"""Smallest valid arguments for a JSON schema: the spec check's stand-in for a caller."""

from __future__ import annotations

import base64
from typing import Any

FORMATS = {
    "date-time": "2030-01-02T03:04:05Z",
    "date": "2030-01-02",
    "email": "someone@example.com",
    "uri": "https://example.com/a",
    "url": "https://example.com/a",
    "base64": base64.b64encode(b"file content").decode(),
}

# Values for the few patterns the catalogue's schemas use.
PATTERNS = {
    "^[A-Za-z_]+/[A-Za-z_]+$": "America/New_York",
    "^([01]?[0-9]|2[0-3]):[0-5][0-9]$": "09:30",
    "^\\d{4}-\\d{2}-\\d{2}$": "2030-01-02",
}


def example(schema: dict[str, Any], *, full: bool = False) -> Any:
    """A value valid for ``schema``: only what is required, or every property when ``full``."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return next(value for value in schema["enum"] if value is not None)
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return example(
                {**schema[key][0], **{k: v for k, v in schema.items() if k != key}}, full=full
            )
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        return example_object(schema, full=full)
    if kind == "array":
        items = schema.get("items", {})
        return [example(items, full=full) for _ in range(max(schema.get("minItems", 1), 1))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = PATTERNS.get(schema.get("pattern", ""), FORMATS.get(schema.get("format", ""), "value"))
    return text.ljust(schema.get("minLength", 0), "x")


def example_object(schema: dict[str, Any], *, full: bool) -> dict[str, Any]:
    props = schema.get("properties", {})
    names = props if full else schema.get("required", ())
    value = {name: example(props.get(name, {}), full=full) for name in names}
    extra = schema.get("additionalProperties")
    if len(value) < schema.get("minProperties", 0):
        if isinstance(extra, dict):
            value["field_1"] = example(extra, full=full)
        else:
            name = next(iter(props))
            value[name] = example(props[name], full=full)
    for part in schema.get("anyOf", ()):
        for name in part.get("required", ()):
            value[name] = example(props.get(name, {}), full=full)
    return value


def with_own_location(value: Any, location_id: str) -> Any:
    """The example with every ``locationIds`` list naming only the caller's own location."""
    if isinstance(value, dict):
        return {
            key: [location_id] if key == "locationIds" else with_own_location(item, location_id)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [with_own_location(item, location_id) for item in value]
    return value
