"""Tool results: GHL's answers as text, errors as ``isError`` results, big answers cut."""

from __future__ import annotations

import json
from typing import Any

import mcp.types as types


def text_result(text: str, *, is_error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=is_error)


def error_result(message: str) -> types.CallToolResult:
    return text_result(message, is_error=True)


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    note = (
        f"\n[truncated: the response was {len(text):,} characters and only the first "
        f"{limit:,} are shown; narrow the request (filters, a smaller limit or a page) "
        "to see the rest]"
    )
    return text[:limit] + note


def data_result(
    data: Any, *, status: int, limit: int, structured: bool = False
) -> types.CallToolResult:
    """GHL's answer as text (cut at ``limit``) and, for tools with an output schema, as
    structured content too (lists shortened to fit the same limit)."""
    value = {"ok": True, "status": status} if data is None else data
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    )
    result = text_result(truncate(text, limit))
    if structured:
        result.structured_content = shrink(as_object(value), limit)
    return result


def as_object(value: Any) -> dict[str, Any]:
    """Structured content must be a JSON object."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {"items": value}
    return {"text": str(value)}


def size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def shrink(value: dict[str, Any], limit: int) -> dict[str, Any]:
    """Halve the longest lists (at the top or one level down) until the object fits."""
    if size(value) <= limit:
        return value
    value = {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
    cut: dict[str, int] = {}
    while size(value) > limit:
        lists = [
            (len(items), owner, key)
            for owner in (value, *(v for v in value.values() if isinstance(v, dict)))
            for key, items in owner.items()
            if isinstance(items, list) and items
        ]
        if not lists:
            return {"_truncated": f"the answer was {size(value):,} characters; narrow the request"}
        length, owner, key = max(lists, key=lambda item: item[0])
        cut.setdefault(key, length)
        owner[key] = owner[key][: length // 2]
    shown = ", ".join(f"{key}: {len_of(value, key)} of {total}" for key, total in cut.items())
    value["_truncated"] = f"lists cut to fit ({shown}); narrow the request or page to see more"
    return value


def len_of(value: dict[str, Any], key: str) -> int:
    for owner in (value, *(v for v in value.values() if isinstance(v, dict))):
        if isinstance(owner.get(key), list):
            return len(owner[key])
    return 0
