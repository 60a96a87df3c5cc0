"""Which of a tenant's tools the model is offered when there are more than it may take.

A model does best with a few dozen tools, and endpoints refuse more than 128. The
tenant's core and discovery tools (``_meta["ghl-agent-hub/tier"]``) are always offered;
the room left goes to the other tools the operation search ranks highest for the
user's latest message (the conversation's earlier requests count for a little). Tools
nothing in them matches come last, in the order the server listed them.

The search is the GHL server's own: a tool that names its catalogue operation
(``_meta["ghl-agent-hub/operation"]``) is scored as the operation search scores that
operation; any other tool by the same BM25F and vocabulary over its name, description
and parameters.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from mcpbridge.ghl.catalogue import Catalogue, catalogue_load, vocabulary_load
from mcpbridge.ghl.search import Analyzer, TextIndex
from mcpbridge.ghl.tools import OPERATION_META_KEY, TIER_META_KEY

PINNED_TIERS = frozenset({"core", "discovery"})
# Earlier requests of the conversation count for this much of the latest one.
CONTEXT_WEIGHT = 0.3
# Indexes of recent tool lists: a tenant's list changes only with its child.
_INDEXES: OrderedDict[tuple[str, ...], TextIndex] = OrderedDict()
_INDEXES_KEPT = 8


def meta_text(tool: Any, key: str) -> str | None:
    value = (getattr(tool, "meta", None) or {}).get(key)
    return value if isinstance(value, str) else None


def tool_tier(tool: Any) -> str | None:
    return meta_text(tool, TIER_META_KEY)


def tool_operation(tool: Any) -> str | None:
    return meta_text(tool, OPERATION_META_KEY)


def tool_fields(tool: Any) -> dict[str, str]:
    schema = getattr(tool, "input_schema", None) or {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return {
        "name": f"{tool.title or ''} {tool.description or ''}",
        "group": re.sub(r"[_\-.]", " ", tool.name),
        "params": " ".join(properties or ()),
    }


def tool_index(tools: Sequence[Any]) -> TextIndex:
    key = tuple(tool.name for tool in tools)
    index = _INDEXES.get(key)
    if index is None:
        analyzer = Analyzer(vocabulary_load())
        index = TextIndex([tool_fields(tool) for tool in tools], [1.0] * len(tools), analyzer)
        _INDEXES[key] = index
        while len(_INDEXES) > _INDEXES_KEPT:
            _INDEXES.popitem(last=False)
    _INDEXES.move_to_end(key)
    return index


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    return catalogue_load()


def tool_scores(tools: Sequence[Any], query: str) -> dict[int, float]:
    """Scores by position in ``tools``: the catalogue's own for operations, else BM25F."""
    if not query.strip():
        return {}
    operations = {op_id: i for i, tool in enumerate(tools) if (op_id := tool_operation(tool))}
    others = [i for i, tool in enumerate(tools) if tool_operation(tool) is None]
    scores: dict[int, float] = {}
    if others:
        found = tool_index([tools[i] for i in others]).scores(query)
        scores.update({others[position]: score for position, score in found.items()})
    if operations:
        index = catalogue().index
        for position, score in index.text.scores(query).items():
            if (found_at := operations.get(index.operations[position].id)) is not None:
                scores[found_at] = score
    return scores


def tools_ranked(tools: Sequence[Any], query: str, context: str = "") -> list[Any]:
    """``tools`` best first for ``query`` (then, less, for ``context``: the earlier
    requests); the tools neither matches keep their listed order, after the rest."""
    scores = tool_scores(tools, query)
    for position, score in tool_scores(tools, context).items():
        scores[position] = scores.get(position, 0.0) + CONTEXT_WEIGHT * score
    order = sorted(range(len(tools)), key=lambda i: (-scores.get(i, 0.0), i))
    return [tools[i] for i in order]


def tools_offered(tools: Sequence[Any], *, limit: int, query: str, context: str = "") -> list[Any]:
    """At most ``limit`` of ``tools``: the pinned ones, then the best for ``query``."""
    if len(tools) <= limit:
        return list(tools)
    pinned = [tool for tool in tools if tool_tier(tool) in PINNED_TIERS]
    others = [tool for tool in tools if tool_tier(tool) not in PINNED_TIERS]
    room = max(limit - len(pinned), 0)
    return [*pinned[:limit], *tools_ranked(others, query, context)[:room]]
