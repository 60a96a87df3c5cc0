"""Build the GHL operation catalogue that the GHL MCP server ships with.

Usage: python scripts/ghl_catalogue.py SPEC_DIR [--out PATH]

SPEC_DIR holds GHL's official OpenAPI files (API v2: ``<group>.json``; the ``-v3``
files and the shared error schemas are skipped). The catalogue keeps facts only:
operation, method, path, ``Version`` header, scopes, parameters with their types,
enums and required flags, the request-body JSON schema, and the spec's short title.

An operation is kept when a sub-account (Location) token may call it, which the
spec states through its security requirements: each file declares security
schemes whose descriptions name the user type they accept ("Sub-Account",
"Location" or "Agency"), and each operation lists the schemes it accepts. An
operation is kept when one of its schemes accepts a Sub-Account/Location token;
operations that accept only agency tokens, or that declare no security at all
(the spec then says nothing about who may call them), are left out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ghl_descriptions import DESCRIPTIONS
from ghl_overrides import OVERRIDES, override_apply
from ghl_vocabulary import ACTION_WORDS, ALIASES, STOP_WORDS, SYNONYMS

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "mcpbridge" / "ghl" / "catalogue.json"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
DEFAULT_VERSION = "2021-07-28"
LOCATION_SCHEME = re.compile(r"user type as (Sub-Account|Location)\b")
# Keywords of OpenAPI 3.0 schema objects that carry over to JSON Schema as they are.
SCHEMA_KEYWORDS = (
    "type",
    "format",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "pattern",
)
JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}
MAX_DESCRIPTION = 160


class SpecError(Exception):
    pass


def spec_files(spec_dir: Path) -> list[Path]:
    files = sorted(
        path
        for path in spec_dir.glob("*.json")
        if not path.stem.endswith("-v3") and not path.stem.startswith("common-schemas")
    )
    if not files:
        raise SpecError(f"no GHL OpenAPI v2 files (*.json without -v3) in {spec_dir}")
    return files


def group_name(path: Path) -> str:
    return path.stem.replace("-", "_")


def snake(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "_", text).strip("_").lower()


def short_text(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    text = " ".join(text.split())
    if not text:
        return None
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    if len(sentence) > MAX_DESCRIPTION:
        sentence = sentence[: MAX_DESCRIPTION - 3].rstrip() + "..."
    return sentence


class SchemaConverter:
    """Turn one spec file's OpenAPI 3.0 schemas into self-contained JSON Schema."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.components = spec.get("components", {}).get("schemas", {})

    def convert(self, schema: Any, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {}
        if "$ref" in schema:
            return self._resolve(schema["$ref"], seen)
        out: dict[str, Any] = {}
        for key in SCHEMA_KEYWORDS:
            if key in schema:
                out[key] = schema[key]
        self._fix_type(out, schema)
        description = short_text(schema.get("description"))
        if description:
            out["description"] = description
        if isinstance(schema.get("properties"), dict):
            out["properties"] = {
                name: self.convert(sub, seen) for name, sub in schema["properties"].items()
            }
            required = [name for name in schema.get("required") or [] if name in out["properties"]]
            if required:
                out["required"] = required
        if "items" in schema:
            out["items"] = self.convert(schema["items"], seen)
        if isinstance(schema.get("additionalProperties"), dict):
            out["additionalProperties"] = self.convert(schema["additionalProperties"], seen)
        for key in ("allOf", "anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                parts = [self.convert(sub, seen) for sub in schema[key]]
                if key == "allOf" and len(parts) == 1:
                    out = {**parts[0], **out}
                else:
                    out[key] = parts
        drop_invalid_default(out)
        return out

    def _resolve(self, ref: str, seen: tuple[str, ...]) -> dict[str, Any]:
        if not ref.startswith("#/components/schemas/"):
            return {"type": "object"}
        name = ref.rsplit("/", 1)[1]
        if name in seen or name not in self.components:
            # A recursive or dangling reference: accept any object at that depth.
            return {"type": "object"}
        return self.convert(self.components[name], (*seen, name))

    @staticmethod
    def _fix_type(out: dict[str, Any], schema: dict[str, Any]) -> None:
        kind = out.get("type")
        if kind is not None and kind not in JSON_TYPES:
            del out["type"]
            kind = None
        if out.get("format") == "binary":
            out["format"] = "base64"
            out["contentEncoding"] = "base64"
        if "enum" in out and not isinstance(out["enum"], list):
            del out["enum"]
        if "enum" in out:
            repair_enum(out)
        if "default" in out and "enum" in out and out["default"] not in out["enum"]:
            del out["default"]
        if schema.get("nullable") and kind:
            out["type"] = [kind, "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]


def drop_invalid_default(out: dict[str, Any]) -> None:
    """Drop a default its own schema refuses (``"type": "string", "default": 10``).

    A model copies defaults; one that fails validation would make it fail too.
    """
    if "default" not in out:
        return
    rest = {key: value for key, value in out.items() if key != "default"}
    if not Draft202012Validator(rest).is_valid(out["default"]):
        del out["default"]


def repair_enum(out: dict[str, Any]) -> None:
    """Make an enum the spec wrote impossibly into one a value can satisfy.

    Some files nest the list (``"enum": [["US", "CA", ...]]``) and type it as a number
    although every value is a string; no value could pass such a schema.
    """
    values = out["enum"]
    if len(values) == 1 and isinstance(values[0], list):
        values = out["enum"] = list(values[0])
    kinds = {type(value) for value in values if value is not None}
    if kinds == {str} and out.get("type") in ("number", "integer", "boolean"):
        out["type"] = "string"


def security_facts(spec: dict[str, Any], operation: dict[str, Any]) -> tuple[bool, list[str]]:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    location_schemes = {
        name
        for name, scheme in schemes.items()
        if LOCATION_SCHEME.search(scheme.get("description", ""))
    }
    allowed = False
    scopes: list[str] = []
    for requirement in operation.get("security") or []:
        for name, names in requirement.items():
            if name in location_schemes:
                allowed = True
                scopes.extend(scope for scope in names if scope not in scopes)
    return allowed, scopes


def header_version(operation: dict[str, Any]) -> str | None:
    for param in operation.get("parameters", []):
        if param.get("in") == "header" and param.get("name", "").lower() == "version":
            enum = param.get("schema", {}).get("enum") or []
            return enum[0] if enum else None
    return None


def file_default_version(spec: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for _path, _method, operation in iter_operations(spec):
        version = header_version(operation)
        if version:
            counts[version] = counts.get(version, 0) + 1
    return max(sorted(counts), key=lambda v: counts[v]) if counts else DEFAULT_VERSION


def iter_operations(spec: dict[str, Any]):
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def convert_params(
    converter: SchemaConverter, operation: dict[str, Any], path: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []
    declared = [p for p in operation.get("parameters", []) if p.get("in") in ("path", "query")]
    raw: dict[str, dict[str, Any]] = {}
    for param in declared:
        if param["name"] not in raw or param["in"] == "path":
            raw[param["name"]] = param
    for name in undeclared_path_names(path, declared):
        raw[name] = {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
            "description": "Taken from the path (the spec leaves it undeclared).",
        }
    for param in declared:
        if param["in"] == "query" and raw[param["name"]]["in"] == "path":
            # The same name in the path and the query (one id twice): one argument fills both.
            params.append(param_entry(converter, param) | {"mirror": True})
    params.extend(param_entry(converter, param) for param in raw.values())
    return params, param_location(raw)


def undeclared_path_names(path: str, declared: list[dict[str, Any]]) -> list[str]:
    names = {p["name"] for p in declared if p["in"] == "path"}
    return [name for name in re.findall(r"\{([^}]+)\}", path) if name not in names]


def param_entry(converter: SchemaConverter, param: dict[str, Any]) -> dict[str, Any]:
    schema = converter.convert(param.get("schema", {}))
    schema.pop("description", None)
    entry: dict[str, Any] = {
        "name": param["name"],
        "in": param["in"],
        "required": bool(param.get("required")) or param["in"] == "path",
        "schema": schema,
    }
    description = short_text(param.get("description"))
    if description:
        entry["description"] = description
    return entry


def mentions_location(param: dict[str, Any]) -> bool:
    return "location" in (param.get("description") or "").lower()


def alt_type_is_location(schema: dict[str, Any] | None) -> bool:
    if schema is None:
        return False
    enum = schema.get("enum")
    return "location" in enum if enum else schema.get("example") == "location"


def param_location(raw: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in ("locationId", "location_id"):
        if name in raw:
            found.append({"in": raw[name]["in"], "name": name})
    if "altId" in raw:
        alt_type = raw.get("altType")
        if alt_type is not None and alt_type_is_location(alt_type.get("schema")):
            found.append({"in": raw["altId"]["in"], "name": "altId"})
            found.append({"in": alt_type["in"], "name": "altType", "value": "location"})
        elif alt_type is None and mentions_location(raw["altId"]):
            found.append({"in": raw["altId"]["in"], "name": "altId"})
    return found


def convert_body(
    converter: SchemaConverter, operation: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    request_body = operation.get("requestBody")
    if not request_body:
        return None, []
    content = request_body.get("content", {})
    content_type = next(iter(content), "application/json")
    schema = converter.convert(content.get(content_type, {}).get("schema", {}))
    if not schema:
        schema = {"type": "object"}
    if content_type == "multipart/form-data" and request_body.get("required"):
        # A required multipart body needs at least one part; an empty one cannot be sent.
        schema.setdefault("minProperties", 1)
    body = {
        "content_type": content_type,
        "required": bool(request_body.get("required")),
        "schema": schema,
    }
    return body, body_location(schema)


def body_location(schema: dict[str, Any]) -> list[dict[str, Any]]:
    props = schema.get("properties", {})
    found: list[dict[str, Any]] = []
    if "locationId" in props:
        found.append({"in": "body", "name": "locationId"})
    if "altId" in props and alt_type_is_location(props.get("altType")):
        found.append({"in": "body", "name": "altId"})
        found.append({"in": "body", "name": "altType", "value": "location"})
    return found


def build_operation(
    spec: dict[str, Any], group: str, path: str, method: str, operation: dict[str, Any]
) -> dict[str, Any]:
    converter = SchemaConverter(spec)
    _allowed, scopes = security_facts(spec, operation)
    params, param_loc = convert_params(converter, operation, path)
    body, body_loc = convert_body(converter, operation)
    op_id = f"{group}.{snake(operation['operationId'])}"
    title = " ".join(str(operation.get("summary") or operation["operationId"]).split())
    entry: dict[str, Any] = {
        "id": op_id,
        "group": group,
        "method": method.upper(),
        "path": path,
        "version": header_version(operation) or file_default_version(spec),
        "title": title,
    }
    if op_id in DESCRIPTIONS:
        entry["description"] = DESCRIPTIONS[op_id]
    entry["scopes"] = scopes
    if operation.get("deprecated"):
        entry["deprecated"] = True
    entry["params"] = params
    entry["body"] = body
    entry["location"] = param_loc + body_loc
    override_apply(entry)
    return entry


def build_catalogue(spec_dir: Path) -> dict[str, Any]:
    groups: dict[str, dict[str, Any]] = {}
    operations: list[dict[str, Any]] = []
    for path in spec_files(spec_dir):
        spec = json.loads(path.read_text(encoding="utf-8"))
        group = group_name(path)
        total = kept = 0
        for api_path, method, operation in iter_operations(spec):
            total += 1
            if not security_facts(spec, operation)[0]:
                continue
            kept += 1
            operations.append(build_operation(spec, group, api_path, method, operation))
        groups[group] = {
            "title": spec.get("info", {}).get("title", group),
            "spec_operations": total,
            "operations": kept,
        }
    operations.sort(key=lambda op: op["id"])
    ensure_unique(operations)
    known = {op["id"] for op in operations}
    unused = sorted((set(DESCRIPTIONS) | set(OVERRIDES)) - known)
    if unused:
        print(
            f"warning: descriptions or overrides for unknown operations: {unused}", file=sys.stderr
        )
    return {
        "format": 1,
        "groups": groups,
        "search": {
            "stop_words": sorted(set(STOP_WORDS)),
            "action_words": sorted(set(ACTION_WORDS)),
            "aliases": ALIASES,
            "synonyms": SYNONYMS,
        },
        "operations": operations,
    }


def ensure_unique(operations: list[dict[str, Any]]) -> None:
    seen: dict[str, int] = {}
    for op in operations:
        seen[op["id"]] = seen.get(op["id"], 0) + 1
    duplicates = sorted(name for name, count in seen.items() if count > 1)
    if duplicates:
        raise SpecError(f"operation ids are not unique within a group: {duplicates}")


def render(catalogue: dict[str, Any]) -> str:
    # One operation per line keeps diffs of a regenerated catalogue readable.
    search = catalogue.get("search", {})
    head = json.dumps(
        {k: v for k, v in catalogue.items() if k not in ("operations", "search")}, indent=1
    )
    if search:
        # One line per table, like the operations: the vocabulary is long and rarely changes.
        block = ",\n".join(
            f"  {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}"
            for name, value in search.items()
        )
        head = head[:-2] + ',\n "search": {\n' + block + "\n }\n}"
    lines = [
        json.dumps(op, separators=(",", ":"), ensure_ascii=False) for op in catalogue["operations"]
    ]
    return head[:-2] + ',\n "operations": [\n' + ",\n".join(lines) + "\n ]\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec_dir", type=Path, help="folder with GHL's OpenAPI *.json files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="catalogue file to write")
    args = parser.parse_args(argv)
    try:
        catalogue = build_catalogue(args.spec_dir)
    except (OSError, ValueError, SpecError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.write_text(render(catalogue), encoding="utf-8")
    total = sum(g["spec_operations"] for g in catalogue["groups"].values())
    print(
        f"{len(catalogue['operations'])} of {total} operations in "
        f"{len(catalogue['groups'])} groups -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
