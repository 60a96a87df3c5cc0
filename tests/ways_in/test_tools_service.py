"""The argument check and the result shape shared by every way in (no child needed)."""

from __future__ import annotations

import mcp_types as types
import pytest

from mcpbridge.supervisor.errors import ChildRestartingError, InvalidArgumentsError
from mcpbridge.tools import (
    arguments_check,
    call_error_payload,
    call_result_payload,
    tool_summary,
)

SCHEMA = {
    "type": "object",
    "properties": {"contactId": {"type": "string"}, "limit": {"type": "integer", "maximum": 100}},
    "required": ["contactId"],
    "additionalProperties": False,
}


def test_arguments_that_fit_the_schema_pass():
    arguments_check(SCHEMA, {"contactId": "c1", "limit": 5})


def test_every_way_the_arguments_break_the_schema_is_listed():
    with pytest.raises(InvalidArgumentsError) as caught:
        arguments_check(SCHEMA, {"limit": 500, "extra": True})
    errors = caught.value.errors
    assert any(line.startswith("arguments: 'contactId' is a required property") for line in errors)
    assert any(line.startswith("limit: 500 is greater than the maximum") for line in errors)
    assert any("extra" in line for line in errors)


def test_a_schema_no_validator_understands_leaves_the_judgement_to_the_child():
    arguments_check({"type": "no-such-type"}, {"anything": 1})


def test_a_tool_is_shown_with_mcp_field_names_its_risk_and_nothing_empty():
    tool = types.Tool(
        name="get_contact",
        title="Get contact",
        description="One contact.",
        input_schema=SCHEMA,
        annotations=types.ToolAnnotations(read_only_hint=True),
    )
    assert tool_summary(tool) == {
        "name": "get_contact",
        "title": "Get contact",
        "description": "One contact.",
        "inputSchema": SCHEMA,
        "annotations": {"readOnlyHint": True},
        "risk": "read",
    }
    assert tool_summary(types.Tool(name="bare", input_schema={"type": "object"})) == {
        "name": "bare",
        "inputSchema": {"type": "object"},
        "risk": "destructive",
    }


def test_a_result_keeps_its_content_error_flag_and_structure():
    result = types.CallToolResult(
        content=[types.TextContent(text="done")],
        structured_content={"count": 2},
        is_error=False,
    )
    assert call_result_payload(result) == {
        "content": [{"type": "text", "text": "done"}],
        "isError": False,
        "structuredContent": {"count": 2},
    }


def test_a_failure_is_sent_with_its_code_whole_seconds_to_wait_and_argument_errors():
    assert call_error_payload(ChildRestartingError(retry_after=0.2)) == {
        "code": "child_restarting",
        "message": ChildRestartingError.default_message,
        "retry_after": 1,
    }
    assert call_error_payload(ChildRestartingError(retry_after=2.1))["retry_after"] == 3
    assert call_error_payload(InvalidArgumentsError(["limit: too big"])) == {
        "code": "invalid_arguments",
        "message": InvalidArgumentsError.default_message,
        "errors": ["limit: too big"],
    }
