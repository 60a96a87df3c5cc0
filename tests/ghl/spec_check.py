"""Check a request the server builds against GHL's official OpenAPI description of it."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema.exceptions import UnknownType
from openapi_schema_validator import OAS30Validator

from mcpbridge.ghl.catalogue import Operation
from mcpbridge.ghl.client import PreparedRequest


@cache
def spec_file(spec_dir: Path, group: str) -> dict[str, Any]:
    return json.loads((spec_dir / f"{group.replace('_', '-')}.json").read_text())


def schema_problems(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    wrapper = {"allOf": [schema], "components": spec.get("components", {})}
    try:
        return [error.message[:160] for error in OAS30Validator(wrapper).iter_errors(value)]
    except UnknownType as exc:
        # The spec's own schema uses a type JSON Schema lacks ("any"): it accepts anything.
        assert exc.type == "any", exc  # noqa: PT017
        return []


def query_value(schema: dict[str, Any], raw: list[str]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        return [query_value(schema.get("items", {}), [item]) for item in raw]
    text = raw[0]
    converters = {
        "integer": int,
        "number": float,
        "boolean": lambda v: {"true": True, "false": False}[v],
        "object": json.loads,
    }
    try:
        return converters.get(kind, str)(text)
    except (ValueError, KeyError):
        return text


def path_problems(spec_op: dict[str, Any], template: str, request: PreparedRequest) -> list[str]:
    pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    found = re.fullmatch(pattern, request.path)
    if found is None:
        return [f"path {request.path} does not fill {template}"]
    problems = []
    for param in spec_op.get("parameters", []):
        if param.get("in") == "path" and param["name"] in found.groupdict():
            value = unquote(found.group(param["name"]))
            problems += [
                f"path {param['name']}: {p}"
                for p in schema_problems({}, param.get("schema", {}), value)
            ]
    return problems


def query_problems(
    spec: dict[str, Any], spec_op: dict[str, Any], request: PreparedRequest
) -> list[str]:
    declared = {p["name"]: p for p in spec_op.get("parameters", []) if p.get("in") == "query"}
    sent: dict[str, list[str]] = {}
    for name, value in request.params:
        sent.setdefault(name, []).append(value)
    problems = [f"query {name} is not in the spec" for name in sent if name not in declared]
    for name, param in declared.items():
        if name not in sent:
            if param.get("required"):
                problems.append(f"required query {name} missing")
            continue
        schema = param.get("schema", {})
        value = query_value(schema, sent[name])
        problems += [f"query {name}: {p}" for p in schema_problems(spec, schema, value)]
    return problems


def body_problems(
    spec: dict[str, Any], spec_op: dict[str, Any], request: PreparedRequest
) -> list[str]:
    body = spec_op.get("requestBody")
    sent = request.json is not None or request.files is not None or request.data is not None
    if body is None:
        return ["a body the spec does not declare"] if sent else []
    if not sent:
        return ["the required body is missing"] if body.get("required") else []
    content_type, media = next(iter(body.get("content", {}).items()))
    if content_type == "multipart/form-data":
        return [] if request.files and request.json is None else ["not sent as multipart/form-data"]
    if content_type == "application/json":
        if request.json is None:
            return [f"not sent as {content_type}"]
        return [f"body: {p}" for p in schema_problems(spec, media.get("schema", {}), request.json)]
    return [] if request.data is not None else [f"not sent as {content_type}"]


def version_problems(spec_op: dict[str, Any], request: PreparedRequest) -> list[str]:
    for param in spec_op.get("parameters", []):
        if param.get("in") == "header" and param.get("name", "").lower() == "version":
            allowed = param.get("schema", {}).get("enum") or [request.version]
            return (
                []
                if request.version in allowed
                else [f"Version {request.version} not in {allowed}"]
            )
    return []


def request_problems(spec_dir: Path, op: Operation, request: PreparedRequest) -> list[str]:
    """Every way ``request`` departs from what the spec says ``op`` accepts."""
    spec = spec_file(spec_dir, op.group)
    spec_op = spec["paths"][op.path][op.method.lower()]
    return [
        *path_problems(spec_op, op.path, request),
        *query_problems(spec, spec_op, request),
        *body_problems(spec, spec_op, request),
        *version_problems(spec_op, request),
    ]
