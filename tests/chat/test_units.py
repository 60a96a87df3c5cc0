"""The pure parts of the chat: tool names and schemas for the model, history windows,
streamed tool-call pieces, schema forms, titles and Markdown."""

from __future__ import annotations

import re
from types import SimpleNamespace as Obj

import pytest

from mcpbridge.chat.agent.model_client import AgentConfig, ModelStep
from mcpbridge.chat.agent.toolbox import (
    MAX_TOOLS,
    Toolbox,
    function_name,
    function_parameters,
    result_text,
    toolbox_build,
)
from mcpbridge.chat.conversations import title_from
from mcpbridge.chat.rendering import markdown_html
from mcpbridge.chat.schema_forms import form_fields
from mcpbridge.chat.transcript import ChatMessage, ToolCall, cut, model_messages

VALID = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")


def tool(name: str, schema: dict | None = None, description: str = "Does things.") -> Obj:
    return Obj(name=name, title=None, description=description, input_schema=schema or {})


# --- tools for the model -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["search_contacts", "contacts.search", "ghl/contacts:get", "9lives", "x" * 90, "名前"]
)
def test_every_tool_name_becomes_a_valid_stable_function_name(name):
    mapped = function_name(name)
    assert VALID.match(mapped)
    assert function_name(name) == mapped


def test_a_valid_name_is_kept_and_names_that_clean_alike_stay_apart():
    assert function_name("search_contacts") == "search_contacts"
    assert function_name("a.b") != function_name("a/b")


def test_schemas_are_shaped_for_openai_compatible_endpoints():
    shaped = function_parameters(
        {"$schema": "x", "type": "object", "anyOf": [{}], "properties": {"a": {"type": "string"}}}
    )
    assert shaped == {"type": "object", "properties": {"a": {"type": "string"}}}
    assert function_parameters({}) == {"type": "object", "properties": {}}
    assert function_parameters({"type": "array"}) == {"type": "object", "properties": {}}


def test_the_toolbox_maps_names_back_and_stops_at_the_models_limit():
    tools = [tool("contacts.search"), *(tool(f"tool_{n}") for n in range(200))]
    box = toolbox_build(tools)
    assert len(box.functions) == MAX_TOOLS
    assert box.tool_for(function_name("contacts.search")) == "contacts.search"
    assert box.tool_for("tool_199") is None
    assert Toolbox().tool_for("anything") is None


def test_a_long_description_is_cut_for_the_model():
    box = toolbox_build([tool("t", description="word " * 400)])
    assert len(box.functions[0]["function"]["description"]) == 1024


def test_result_text_joins_blocks_and_names_what_is_not_text():
    blocks = [
        {"type": "text", "text": "one"},
        {"type": "image", "mimeType": "image/png", "data": "..."},
        {"type": "resource", "resource": {"uri": "x://y", "text": "inline"}},
    ]
    assert result_text(blocks) == "one\n[image: image/png]\ninline"
    assert result_text([], {"ok": True}) == '{"ok": true}'


# --- what the model is sent ----------------------------------------------------------------


def test_cut_leaves_short_text_alone_and_says_how_much_was_cut():
    assert cut("short", 10) == "short"
    assert cut("x" * 25, 10).startswith("x" * 10 + "\n\n[Cut to the first 10 of 25 characters.")


def send(history, **limits):
    return model_messages(
        history,
        function_name=function_name,
        result_limit=limits.get("result_limit", 1000),
        history_limit=limits.get("history_limit", 10_000),
    )


def test_old_turns_are_left_out_when_the_history_is_too_long():
    history = [
        ChatMessage("user", "a" * 600),
        ChatMessage("assistant", "b" * 600),
        ChatMessage("user", "latest"),
    ]
    assert [m["content"] for m in send(history, history_limit=1000)] == ["latest"]
    assert len(send(history, history_limit=5000)) == 3


def test_tool_calls_without_answers_are_not_replayed_but_their_text_is():
    call = ToolCall("call_1", "list_calendars", "{}")
    history = [
        ChatMessage("user", "hi"),
        ChatMessage("assistant", "Checking.", tool_calls=[call], status="stopped"),
        ChatMessage("tool", "orphan", tool_call_id="call_elsewhere"),
        ChatMessage("user", "again"),
    ]
    assert send(history) == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Checking."},
        {"role": "user", "content": "again"},
    ]


def test_a_failed_answer_without_text_is_not_replayed():
    history = [ChatMessage("user", "hi"), ChatMessage("assistant", "", status="error", error="x")]
    assert send(history) == [{"role": "user", "content": "hi"}]


# --- streamed tool calls -------------------------------------------------------------------


def piece(index=None, call_id=None, name=None, arguments=None) -> Obj:
    return Obj(index=index, id=call_id, function=Obj(name=name, arguments=arguments))


def test_pieces_without_an_index_are_joined_by_their_id():
    step = ModelStep()
    for p in [
        piece(call_id="a", name="get_contact", arguments='{"contactId":'),
        piece(arguments=' "x"}'),
        piece(call_id="b", name="list_calendars", arguments="{}"),
    ]:
        step.add_call_piece(p)
    box = toolbox_build([tool("get_contact"), tool("list_calendars")])
    calls = step.tool_calls(box)
    assert [(c.name, c.arguments) for c in calls] == [
        ("get_contact", '{"contactId": "x"}'),
        ("list_calendars", "{}"),
    ]
    assert calls[0].id != calls[1].id


def test_a_name_repeated_in_every_piece_is_taken_once():
    step = ModelStep()
    step.add_call_piece(piece(0, "a", "get_contact", "{"))
    step.add_call_piece(piece(0, None, "get_contact", "}"))
    assert step.tool_calls(toolbox_build([tool("get_contact")]))[0].name == "get_contact"


def test_arguments_that_are_not_an_object_are_kept_as_text():
    assert ToolCall("c", "t", "[1, 2]").parsed_arguments() == "[1, 2]"
    assert ToolCall("c", "t", "").parsed_arguments() == {}


def test_the_config_reads_the_settings(settings):
    settings.LLM_MODEL = "m"
    settings.LLM_MAX_STEPS = 3
    config = AgentConfig.from_settings()
    assert (config.model, config.max_steps, config.configured) == ("m", 3, True)
    settings.LLM_MODEL = ""
    assert AgentConfig.from_settings().configured is False


# --- forms from schemas ----------------------------------------------------------------------


def test_each_json_schema_type_gets_a_fitting_widget():
    fields = form_fields(
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "Words."},
                "message": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                "status": {"type": "string", "enum": ["open", "won"]},
                "dnd": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "filters": {"type": "object"},
                "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "maybe": {"type": ["null", "number"]},
            },
            "required": ["status"],
        }
    )
    by_name = {f.name: f for f in fields}
    assert fields[0].name == "status", "required fields come first"
    assert (by_name["query"].widget, by_name["query"].help) == ("text", "Words.")
    assert by_name["message"].widget == "textarea"
    limit = by_name["limit"]
    assert (limit.widget, limit.kind, limit.minimum, limit.maximum, limit.default) == (
        "number",
        "integer",
        1,
        100,
        "20",
    )
    assert (by_name["status"].widget, by_name["status"].options) == ("select", ["open", "won"])
    assert by_name["dnd"].widget == "boolean"
    assert (by_name["tags"].widget, by_name["tags"].kind) == ("list", "string")
    assert by_name["filters"].widget == "json"
    assert by_name["either"].widget == "json"
    assert (by_name["maybe"].widget, by_name["maybe"].kind) == ("number", "number")
    assert by_name["limit"].label == "Limit"


def test_a_schema_without_properties_has_no_fields():
    assert form_fields(None) == []
    assert form_fields({"type": "object"}) == []


# --- titles and Markdown ------------------------------------------------------------------


def test_a_title_is_the_first_words_of_the_message():
    assert title_from("  Who   is\nAlice? ") == "Who is Alice?"
    long = title_from("Please find every contact who booked in March and has not paid yet, thanks")
    assert long == "Please find every contact who booked in March and has not…"


def test_markdown_keeps_formatting_and_drops_anything_active():
    html = markdown_html(
        "# T\n[ok](https://a.example) [bad](javascript:alert(1)) ![p](https://x.example/p.png)\n"
        "<b onclick=x>raw</b>\n\n```\n<script>\n```"
    )
    assert "<h1>T</h1>" in html
    assert 'href="https://a.example"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert 'href="javascript' not in html
    assert '<a href="https://x.example/p.png"' in html
    assert "<img" not in html
    assert "&lt;b onclick=x&gt;raw&lt;/b&gt;" in html
    assert "<pre><code>&lt;script&gt;" in html
