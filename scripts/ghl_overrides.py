"""Corrections to single operations of GHL's specs that no general rule makes, with reasons.

The generator applies general repairs itself (path parameters the spec forgets to
declare, a name used in both path and query, impossible enums). What is here is one
operation at a time, and mcpbridge/ghl/README.md lists each with its reason.

An override may replace body properties (``body_properties``), replace the whole body
schema (``body_schema``), and fill body fields the spec requires but a caller cannot
sensibly choose (``fill``: a constant ``value``, or the value of another field ``from``).
A filled field is optional for callers; the server sends it when they leave it out.
"""

from __future__ import annotations

from typing import Any

OVERRIDES: dict[str, dict[str, Any]] = {
    # The spec requires `status` and `subType` on every send. `status` of a message being
    # sent is "pending" (GHL's own answer says so). `subType` is typed as an object while
    # its example and description give the channel's name ("Email"); we send the string,
    # the same as `type`. So send_sms, send_email and call_operation all send both.
    "conversations.send_a_new_message": {
        "body_properties": {
            "subType": {
                "type": "string",
                "description": "The channel again, e.g. SMS or Email (filled from type).",
            },
        },
        "fill": [
            {"name": "status", "value": "pending"},
            {"name": "subType", "from": "type"},
        ],
    },
    # The spec gives this multipart body no schema; its description says each file is a
    # part named "<customFieldId>_<fileId>".
    "forms.upload_to_custom_fields": {
        "body_schema": {
            "type": "object",
            "description": (
                "Files as base64 text, each under the key <customFieldId>_<fileId> "
                "(a file id you make up, e.g. a UUID)."
            ),
            "additionalProperties": {
                "type": "string",
                "format": "base64",
                "contentEncoding": "base64",
            },
            "minProperties": 1,
        },
    },
}


def override_apply(entry: dict[str, Any]) -> None:
    """Apply the override for ``entry["id"]``, if there is one, to a catalogue entry."""
    override = OVERRIDES.get(entry["id"])
    if override is None or entry.get("body") is None:
        return
    body = entry["body"]
    if "body_schema" in override:
        body["schema"] = override["body_schema"]
    for name, schema in override.get("body_properties", {}).items():
        body["schema"].setdefault("properties", {})[name] = schema
    if "fill" in override:
        entry["fill"] = override["fill"]
