from __future__ import annotations

import re

import pytest

from mcpbridge.ghl.calls import ArgumentError, operation_request
from mcpbridge.ghl.catalogue import Catalogue
from tests.conftest import REPO_ROOT
from tests.ghl.conftest import spec_dir
from tests.ghl.examples import example, with_own_location
from tests.ghl.spec_check import request_problems

SPECS = spec_dir()
LOC = "loc_own"
README = REPO_ROOT / "mcpbridge" / "ghl" / "README.md"
pytestmark = pytest.mark.skipif(
    SPECS is None, reason="GHL OpenAPI specs (shared/ghl-openapi) not beside the repository"
)


def documented_exceptions() -> set[str]:
    """Operations the README names as ones no request can satisfy the spec for, with why."""
    text = README.read_text()
    section = text.split("## Where the spec contradicts itself", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `([a-z_]+\.[a-z0-9_]+)`: \S", section, flags=re.MULTILINE))


def spec_failures(catalogue: Catalogue, *, full: bool) -> dict[str, list[str]]:
    failures: dict[str, list[str]] = {}
    for op in catalogue:
        arguments = with_own_location(example(op.input_schema, full=full), LOC)
        try:
            request = operation_request(op, arguments, location_id=LOC)
        except ArgumentError as exc:
            failures[op.id] = [f"refused its own schema's example: {exc}"]
            continue
        if problems := request_problems(SPECS, op, request):
            failures[op.id] = problems
    return failures


def test_every_operation_sends_a_request_the_spec_accepts(catalogue: Catalogue) -> None:
    exceptions = documented_exceptions()
    failures = spec_failures(catalogue, full=False)
    assert set(failures) <= exceptions, failures
    assert len(catalogue) - len(failures) >= 518


def test_every_optional_argument_too_reaches_ghl_as_the_spec_says(catalogue: Catalogue) -> None:
    failures = spec_failures(catalogue, full=True)
    assert set(failures) == documented_exceptions(), failures


def test_the_spec_itself_is_what_fails_for_each_documented_exception(
    catalogue: Catalogue,
) -> None:
    sent = spec_failures(catalogue, full=False)["conversations.send_a_new_message"]
    assert sent == ["body: 'SMS' is not of type 'object'"]
    failures = spec_failures(catalogue, full=True)
    for op_id in ("store.create_shipping_zone", "store.update_shipping_zone"):
        assert "body: 'US' is not of type 'number'" in failures[op_id]
