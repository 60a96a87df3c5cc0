"""The committed catalogue of GHL operations a sub-account token may call."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcpbridge.ghl.search import OperationIndex

CATALOGUE_PATH = Path(__file__).with_name("catalogue.json")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    location: str  # "path" or "query"
    required: bool
    schema: dict[str, Any]
    description: str | None = None
    # A query parameter named like a path parameter: sent with the path's value.
    mirror: bool = False

    def json_schema(self) -> dict[str, Any]:
        schema = dict(self.schema)
        if self.description:
            schema["description"] = self.description
        return schema


@dataclass(frozen=True, slots=True)
class Body:
    content_type: str
    required: bool
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LocationSlot:
    """Where an operation takes the sub-account's id; the server always fills it."""

    location: str  # "path", "query" or "body"
    name: str
    value: str | None = None  # a constant (altType="location"); None means the location id


@dataclass(frozen=True, slots=True)
class BodyFill:
    """A body field the spec requires that the server fills when the caller leaves it out."""

    name: str
    value: Any = None
    source: str | None = None  # take the value of this other body field instead

    def value_for(self, body: dict[str, Any]) -> Any:
        return body.get(self.source) if self.source else self.value


@dataclass(frozen=True)
class Operation:
    id: str
    group: str
    method: str
    path: str
    version: str
    title: str
    scopes: tuple[str, ...]
    params: tuple[Param, ...]
    body: Body | None
    location_slots: tuple[LocationSlot, ...]
    description: str | None = None
    deprecated: bool = False
    fills: tuple[BodyFill, ...] = ()

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS

    @property
    def tool_name(self) -> str:
        return self.id.replace(".", "_")

    def slot_names(self, location: str) -> set[str]:
        return {slot.name for slot in self.location_slots if slot.location == location}

    def visible_params(self) -> list[Param]:
        hidden = self.slot_names("path") | self.slot_names("query")
        return [param for param in self.params if param.name not in hidden and not param.mirror]

    @property
    def body_required(self) -> bool:
        """Whether a caller must give a body: the spec requires one that has required parts."""
        if self.body is None or not self.body.required:
            return False
        schema = self.body.schema
        if schema.get("type", "object") != "object":
            return True
        filled = {fill.name for fill in self.fills} | self.slot_names("body")
        return bool(set(schema.get("required", ())) - filled) or bool(schema.get("minProperties"))

    def summary(self) -> str:
        text = self.description or self.title
        scopes = f"; scope {', '.join(self.scopes)}" if self.scopes else ""
        note = " Deprecated by GHL." if self.deprecated else ""
        return f"{text} ({self.method} {self.path}{scopes}).{note}"

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        """Arguments: path and query parameters by name, the request body under ``body``."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        for param in self.visible_params():
            properties[param.name] = param.json_schema()
            if param.required:
                required.append(param.name)
        if self.body is not None:
            properties["body"] = body_schema_without_location(
                self.body.schema,
                self.slot_names("body"),
                frozenset(fill.name for fill in self.fills),
            )
            if self.body_required:
                required.append("body")
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        return schema


def body_schema_without_location(
    schema: dict[str, Any], hidden: set[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The body schema without the location's fields, and with filled fields optional."""
    if not (hidden or optional) or "properties" not in schema:
        return schema
    trimmed = dict(schema)
    trimmed["properties"] = {k: v for k, v in schema["properties"].items() if k not in hidden}
    if "required" in schema:
        trimmed["required"] = [
            name for name in schema["required"] if name not in hidden and name not in optional
        ]
        if not trimmed["required"]:
            del trimmed["required"]
    return trimmed


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    title: str
    spec_operations: int
    operations: int


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Words for the operation search (scripts/ghl_vocabulary.py, copied in by the generator)."""

    stop_words: frozenset[str]
    action_words: frozenset[str]
    aliases: Mapping[str, Sequence[str]]
    synonyms: Mapping[str, Sequence[str]]


class Catalogue:
    def __init__(
        self,
        groups: Iterable[Group],
        operations: Iterable[Operation],
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.groups = {group.name: group for group in groups}
        self.operations = {op.id: op for op in operations}
        self.vocabulary = vocabulary or Vocabulary(frozenset(), frozenset(), {}, {})

    def __len__(self) -> int:
        return len(self.operations)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations.values())

    @property
    def callable_groups(self) -> list[str]:
        """Groups with at least one operation a sub-account token may call."""
        return sorted(name for name, group in self.groups.items() if group.operations)

    def get(self, operation_id: str) -> Operation | None:
        return self.operations.get(operation_id)

    def in_group(self, group: str) -> list[Operation]:
        return [op for op in self if op.group == group]

    @cached_property
    def index(self) -> OperationIndex:
        # Built on first use: a child that never searches never pays for it.
        from mcpbridge.ghl.search import OperationIndex

        return OperationIndex(self, self.vocabulary)

    def search(
        self, query: str = "", *, group: str | None = None, limit: int = 20
    ) -> list[Operation]:
        """Operations best matching ``query`` (all of ``group`` by id when it has no words)."""
        if not query.strip():
            return [op for op in self if not group or op.group == group][:limit]
        ranked = (op for _score, op in self.index.rank(query))
        return [op for op in ranked if not group or op.group == group][:limit]


def operation_from_dict(data: dict[str, Any]) -> Operation:
    body = data.get("body")
    return Operation(
        id=data["id"],
        group=data["group"],
        method=data["method"],
        path=data["path"],
        version=data["version"],
        title=data["title"],
        description=data.get("description"),
        scopes=tuple(data.get("scopes", ())),
        deprecated=bool(data.get("deprecated")),
        params=tuple(
            Param(
                name=p["name"],
                location=p["in"],
                required=p["required"],
                schema=p["schema"],
                description=p.get("description"),
                mirror=bool(p.get("mirror")),
            )
            for p in data["params"]
        ),
        fills=tuple(
            BodyFill(name=f["name"], value=f.get("value"), source=f.get("from"))
            for f in data.get("fill", ())
        ),
        body=Body(body["content_type"], body["required"], body["schema"]) if body else None,
        location_slots=tuple(
            LocationSlot(location=s["in"], name=s["name"], value=s.get("value"))
            for s in data["location"]
        ),
    )


def vocabulary_from_dict(words: dict[str, Any]) -> Vocabulary:
    return Vocabulary(
        stop_words=frozenset(words.get("stop_words", ())),
        action_words=frozenset(words.get("action_words", ())),
        aliases=words.get("aliases", {}),
        synonyms=words.get("synonyms", {}),
    )


def catalogue_load(path: Path = CATALOGUE_PATH) -> Catalogue:
    data = json.loads(path.read_text(encoding="utf-8"))
    groups = [Group(name=name, **info) for name, info in data["groups"].items()]
    vocabulary = vocabulary_from_dict(data.get("search", {}))
    return Catalogue(groups, (operation_from_dict(op) for op in data["operations"]), vocabulary)


@lru_cache(maxsize=1)
def vocabulary_load(path: Path = CATALOGUE_PATH) -> Vocabulary:
    """The search vocabulary alone, for ranking tools outside the child (the agent)."""
    return vocabulary_from_dict(json.loads(path.read_text(encoding="utf-8")).get("search", {}))
