"""A tenant's MCP tools as OpenAI function tools, and tool results as text for the model.

OpenAI-compatible endpoints reject a whole request for one bad tool: names must match
``^[a-zA-Z0-9_-]{1,64}$`` (Gemini's endpoint also wants a letter or ``_`` first), a
request may offer at most 128 tools (fewer, ``LLM_MAX_TOOLS``, chosen in tool_choice),
and the parameters must be a JSON schema of
``type: object`` without ``anyOf``/``oneOf``/``allOf``/``enum``/``not`` at the top.
MCP allows more, so names are mapped (stably, so stored conversations replay) and
schemas trimmed; the child still validates the real arguments.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from mcpbridge.chat.agent.tool_choice import tools_offered

logger = logging.getLogger(__name__)

MAX_TOOLS = 128
MAX_NAME = 64
MAX_DESCRIPTION = 1024
_NAME_OK = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
_TOP_LEVEL_REFUSED = ("anyOf", "oneOf", "allOf", "enum", "not", "$schema", "$id")


def function_name(tool_name: str) -> str:
    """The name the model sees for MCP tool ``tool_name``: itself when it is valid."""
    if _NAME_OK.match(tool_name):
        return tool_name
    cleaned = re.sub(r"[^a-zA-Z0-9_-]", "_", tool_name)
    if not re.match(r"[a-zA-Z_]", cleaned):
        cleaned = "_" + cleaned
    digest = hashlib.sha256(tool_name.encode()).hexdigest()[:8]
    return f"{cleaned[: MAX_NAME - 9]}_{digest}"


def function_parameters(schema: dict[str, Any] | None) -> dict[str, Any]:
    """``schema`` in a shape every OpenAI-compatible endpoint accepts."""
    raw = dict(schema or {})
    if raw.get("type") not in (None, "object"):
        return {"type": "object", "properties": {}}
    shaped = {key: value for key, value in raw.items() if key not in _TOP_LEVEL_REFUSED}
    shaped["type"] = "object"
    if not isinstance(shaped.get("properties"), dict):
        shaped["properties"] = {}
    return shaped


@dataclass
class Toolbox:
    """The tools offered to the model for one turn, by the names the model uses."""

    functions: list[dict[str, Any]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def tool_for(self, name: str) -> str | None:
        """The MCP tool the model means by function ``name``, or None."""
        return self.names.get(name)


def _description(tool: Any) -> str:
    text = (tool.description or tool.title or tool.name or "").strip()
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def toolbox_build(
    tools: list[Any], *, limit: int = MAX_TOOLS, query: str = "", context: str = ""
) -> Toolbox:
    """OpenAI function tools for MCP ``tools``: all of them, or at most ``limit`` (and 128)
    chosen for ``query``, the user's latest message, and ``context``, the earlier ones
    (see tool_choice)."""
    limit = min(limit, MAX_TOOLS)
    offered = tools_offered(tools, limit=limit, query=query, context=context)
    if len(offered) < len(tools):
        logger.info("the model is offered %d of %d tools", len(offered), len(tools))
    box = Toolbox()
    for tool in offered:
        name = function_name(tool.name)
        if name in box.names:
            logger.warning("two tools map to the function name %s; %s is left out", name, tool.name)
            continue
        box.names[name] = tool.name
        box.functions.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": _description(tool),
                    "parameters": function_parameters(tool.input_schema),
                },
            }
        )
    return box


def _block_text(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind in ("image", "audio"):
        return f"[{kind}: {block.get('mimeType', 'unknown type')}]"
    if kind == "resource":
        resource = block.get("resource") or {}
        return str(resource.get("text") or f"[resource: {resource.get('uri', '')}]")
    if kind == "resource_link":
        return f"[link: {block.get('uri', '')}]"
    return json.dumps(block, ensure_ascii=False)


def result_text(content: list[dict[str, Any]], structured: Any = None) -> str:
    """A tool result's content blocks as one text (the structured content if there is none)."""
    text = "\n".join(_block_text(block) for block in content)
    if not text and structured is not None:
        return json.dumps(structured, ensure_ascii=False)
    return text
