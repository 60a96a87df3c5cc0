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


def data_result(data: Any, *, status: int, limit: int) -> types.CallToolResult:
    if data is None:
        return text_result(json.dumps({"ok": True, "status": status}))
    text = (
        data
        if isinstance(data, str)
        else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    )
    return text_result(truncate(text, limit))
