"""Form fields for a tool's JSON schema, for the tool explorer.

Each property of the schema's top-level object becomes one field with a widget the
page's script knows how to read back into a value: ``text``, ``textarea``, ``number``
(with ``integer`` as its kind when it must be whole), ``boolean``, ``select``
(an ``enum``), ``list`` (an array of scalars, one per line) or ``json`` (anything
else, typed as JSON). The child validates the arguments for real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

LONG_TEXT_HINTS = ("body", "message", "html", "description", "notes", "text", "content")


@dataclass
class FormField:
    name: str
    label: str
    widget: str
    kind: str
    required: bool = False
    help: str = ""
    default: str = ""
    options: list[str] = field(default_factory=list)
    minimum: Any = None
    maximum: Any = None
    placeholder: str = ""


def _label(name: str) -> str:
    spaced = "".join(f" {c.lower()}" if c.isupper() else c for c in name).replace("_", " ")
    return spaced.strip().capitalize() or name


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "enum" in schema:
        return "string"
    return kind if isinstance(kind, str) else "json"


def _default(schema: dict[str, Any]) -> str:
    if "default" not in schema or schema["default"] is None:
        return ""
    value = schema["default"]
    return value if isinstance(value, str) else json.dumps(value)


def _scalar_items(schema: dict[str, Any]) -> bool:
    items = schema.get("items")
    return isinstance(items, dict) and _type_of(items) in {"string", "integer", "number"}


def form_field(name: str, schema: dict[str, Any], *, required: bool) -> FormField:
    """The field for property ``name`` described by ``schema``."""
    kind = _type_of(schema)
    made = FormField(
        name=name,
        label=str(schema.get("title") or _label(name)),
        widget="json",
        kind=kind,
        required=required,
        help=str(schema.get("description") or ""),
        default=_default(schema),
    )
    if isinstance(schema.get("enum"), list) and kind in {"string", "integer", "number"}:
        made.widget, made.options = "select", [str(option) for option in schema["enum"]]
    elif kind == "string":
        long_text = any(hint in name.lower() for hint in LONG_TEXT_HINTS)
        made.widget = "textarea" if long_text else "text"
        made.placeholder = str(schema.get("format") or "")
    elif kind in {"integer", "number"}:
        made.widget = "number"
        made.minimum, made.maximum = schema.get("minimum"), schema.get("maximum")
    elif kind == "boolean":
        made.widget = "boolean"
    elif kind == "array" and _scalar_items(schema):
        made.widget, made.kind = "list", _type_of(schema["items"])
        made.placeholder = "One per line"
    else:
        made.kind = "json"
        made.placeholder = "JSON, e.g. {}" if kind == "object" else "JSON"
    return made


def form_fields(schema: dict[str, Any] | None) -> list[FormField]:
    """The fields of a tool's input schema, required ones first."""
    schema = schema or {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields = [
        form_field(name, spec if isinstance(spec, dict) else {}, required=name in required)
        for name, spec in properties.items()
    ]
    return sorted(fields, key=lambda f: not f.required)
