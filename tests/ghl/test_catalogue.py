from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from jsonschema import Draft7Validator

from mcpbridge.ghl.catalogue import CATALOGUE_PATH, Catalogue
from mcpbridge.ghl.core import core_tools
from tests.conftest import REPO_ROOT
from tests.ghl.conftest import spec_dir

SPECS = spec_dir()
needs_specs = pytest.mark.skipif(
    SPECS is None, reason="GHL OpenAPI specs (shared/ghl-openapi) not beside the repository"
)


@needs_specs
def test_regenerating_from_the_same_specs_changes_nothing(tmp_path) -> None:
    out = tmp_path / "catalogue.json"
    result = subprocess.run(
        [sys.executable, "scripts/ghl_catalogue.py", str(SPECS), "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == CATALOGUE_PATH.read_bytes()


@needs_specs
def test_it_keeps_exactly_the_operations_a_location_token_may_call(catalogue: Catalogue) -> None:
    expected: set[tuple[str, str, str]] = set()
    for path in sorted(SPECS.glob("*.json")):
        if path.stem.endswith("-v3") or path.stem.startswith("common"):
            continue
        spec = json.loads(path.read_text())
        schemes = spec.get("components", {}).get("securitySchemes", {})
        location_schemes = {
            n
            for n, s in schemes.items()
            if re.search(r"user type as (Sub-Account|Location)", s.get("description", ""))
        }
        for api_path, item in spec["paths"].items():
            for method, op in item.items():
                names = {name for req in op.get("security") or [] for name in req}
                if names & location_schemes:
                    expected.add((path.stem.replace("-", "_"), method.upper(), api_path))
    assert {(op.group, op.method, op.path) for op in catalogue} == expected
    assert sum(g.spec_operations for g in catalogue.groups.values()) == 576


def test_generator_refuses_a_folder_without_specs(tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "scripts/ghl_catalogue.py",
            str(tmp_path),
            "--out",
            str(tmp_path / "c.json"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "no GHL OpenAPI v2 files" in result.stderr
    assert not (tmp_path / "c.json").exists()


def test_every_operation_has_a_valid_schema_and_a_usable_tool_name(catalogue: Catalogue) -> None:
    names = set()
    # The catalogue uses only keywords that draft 7 and 2020-12 share; the draft-7
    # meta-schema checks them several times faster.
    meta = Draft7Validator(Draft7Validator.META_SCHEMA)
    for op in catalogue:
        assert not list(meta.iter_errors(op.input_schema)), op.id
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", op.tool_name), op.tool_name
        assert op.version in ("2021-07-28", "2021-04-15")
        names.add(op.tool_name)
    assert len(names) == len(catalogue)
    assert not names & {tool.name for tool in core_tools()}


def test_versions_follow_the_spec_per_group(catalogue: Catalogue) -> None:
    assert {op.version for op in catalogue.in_group("calendars")} == {"2021-04-15"}
    assert catalogue.get("conversations.send_a_new_message").version == "2021-04-15"
    assert catalogue.get("contacts.get_contact").version == "2021-07-28"


def test_location_is_hidden_wherever_an_operation_takes_it(catalogue: Catalogue) -> None:
    checks = {
        "locations.get_location": ("path", "locationId"),
        "opportunities.get_pipelines": ("query", "locationId"),
        "opportunities.search_opportunity": ("query", "location_id"),
        "contacts.create_contact": ("body", "locationId"),
        "invoices.list_invoices": ("query", "altId"),
        "invoices.send_invoice": ("body", "altId"),
    }
    for op_id, (where, name) in checks.items():
        op = catalogue.get(op_id)
        assert name in op.slot_names(where), op_id
        schema = op.input_schema
        visible = (
            schema["properties"].get("body", {}).get("properties", {})
            if where == "body"
            else schema["properties"]
        )
        assert name not in visible, op_id
    assert "altType" not in catalogue.get("invoices.list_invoices").input_schema["properties"]
