"""The agent loop against the fake model, the real registry, the GHL child and the sandbox."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys

import pytest

from mcpbridge.chat.agent.loop import AgentLoop
from mcpbridge.chat.transcript import ChatMessage, ToolCall
from mcpbridge.ghl.core import core_tools
from mcpbridge.registry import get_registry
from mcpbridge.sandbox import DENTAL
from tenants.models import Tenant
from tests.chat.conftest import FAKE_KEY
from tests.chat.fake_model import Reply, error, text, tool_calls

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[ChatMessage]] = []

    async def __call__(self, messages: list[ChatMessage]) -> None:
        self.batches.append(list(messages))

    @property
    def messages(self) -> list[ChatMessage]:
        return [message for batch in self.batches for message in batch]


async def run_turn(tenant, config, events, history=None, record=None) -> AgentLoop:
    loop = AgentLoop(tenant=tenant, emit=events, record=record, config=config, conversation=7)
    await loop.run(history or [ChatMessage("user", "Hello")])
    return loop


def refcounts() -> list[int]:
    return [row.refcount for row in get_registry().children()]


async def released() -> None:
    async with asyncio.timeout(10):
        # The registry signals nothing when a use ends; poll its snapshot.
        while refcounts() != [0]:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


# --- text ------------------------------------------------------------------------------


async def test_it_streams_the_answer_as_deltas_then_says_done(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    fake_model.push(text("Hello", ", how can ", "I help?"))
    seen, record = events(), Recorder()
    await run_turn(tenant, agent_config, seen, record=record)
    assert seen.types == ["chat.delta", "chat.delta", "chat.delta", "chat.done"]
    assert seen.text == "Hello, how can I help?"
    assert seen.of("chat.done")[0] == {
        "type": "chat.done",
        "conversation": 7,
        "stopped": False,
        "steps": 1,
    }
    assert [(m.role, m.content, m.status) for m in record.messages] == [
        ("assistant", "Hello, how can I help?", "done")
    ]


async def test_it_offers_the_tenants_tools_and_speaks_for_its_sub_account(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    fake_model.push(text("Hi"))
    await run_turn(tenant, agent_config, events())
    request = fake_model.requests[0]
    body = request["body"]
    assert request["headers"]["authorization"] == f"Bearer {FAKE_KEY}"
    assert body["model"] == agent_config.model
    assert body["stream"] is True
    names = {tool["function"]["name"] for tool in body["tools"]}
    assert {"search_contacts", "get_contact", "book_appointment", "call_operation"} <= names
    assert len(body["tools"]) == 52
    search = next(t for t in body["tools"] if t["function"]["name"] == "search_contacts")
    assert search["type"] == "function"
    assert search["function"]["parameters"]["type"] == "object"
    assert "query" in search["function"]["parameters"]["properties"]
    system, user = body["messages"]
    assert system["role"] == "system"
    assert "Bright Smile Dental" in system["content"]
    assert user == {"role": "user", "content": "Hello"}


# --- tools -----------------------------------------------------------------------------


async def test_it_runs_a_tool_call_split_across_chunks_and_feeds_back_its_result(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    fake_model.push(
        tool_calls(("search_contacts", {"query": "Alice"}), say="Let me look.", parts=5),
        text("Alice Nguyen is a VIP patient."),
    )
    seen, record = events(), Recorder()
    await run_turn(tenant, agent_config, seen, record=record)

    assert seen.types == [
        "chat.delta",
        "tool.started",
        "tool.result",
        "chat.delta",
        "chat.done",
    ]
    started, result = seen.of("tool.started")[0], seen.of("tool.result")[0]
    assert started["name"] == "search_contacts"
    assert started["arguments"] == {"query": "Alice"}
    assert started["conversation"] == 7
    assert result["id"] == started["id"]
    assert result["isError"] is False
    assert "ct_dental_alice" in result["content"][0]["text"]
    assert isinstance(result["duration_ms"], int)

    second = fake_model.requests[1]["body"]["messages"]
    asked, answered = second[-2], second[-1]
    assert asked["role"] == "assistant"
    assert asked["content"] == "Let me look."
    assert asked["tool_calls"] == [
        {
            "id": started["id"],
            "type": "function",
            "function": {"name": "search_contacts", "arguments": '{"query": "Alice"}'},
        }
    ]
    assert answered["role"] == "tool"
    assert answered["tool_call_id"] == started["id"]
    assert "Alice" in answered["content"]

    kinds = [(m.role, m.tool_name or m.content) for m in record.messages]
    assert kinds == [
        ("assistant", "Let me look."),
        ("tool", "search_contacts"),
        ("assistant", "Alice Nguyen is a VIP patient."),
    ]
    assert record.messages[0].tool_calls[0].id == started["id"]
    assert refcounts() == [0]


async def test_several_tool_calls_in_one_answer_run_at_once_and_answer_in_order(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    fake_model.push(
        tool_calls(
            ("get_contact", {"contactId": "ct_dental_alice"}),
            ("list_calendars", {}),
            ("get_contact", {"contactId": "ct_dental_bob"}),
            interleave=True,
            ids=["call_0", "call_0", "call_0"],
        ),
        text("Done."),
    )
    seen = events()
    await run_turn(tenant, agent_config, seen)

    tool_events = [e["type"] for e in seen.items if e["type"].startswith("tool.")]
    # All three start before any answers: they run concurrently, not one after another.
    assert tool_events[:3] == ["tool.started"] * 3
    assert sorted(tool_events[3:]) == ["tool.result"] * 3
    ids = [e["id"] for e in seen.of("tool.started")]
    assert len(set(ids)) == 3, "the server's repeated ids are replaced by unique ones"

    messages = fake_model.requests[1]["body"]["messages"]
    asked = messages[-4]
    assert [c["id"] for c in asked["tool_calls"]] == ids
    assert [c["function"]["name"] for c in asked["tool_calls"]] == [
        "get_contact",
        "list_calendars",
        "get_contact",
    ]
    answers = messages[-3:]
    assert [a["tool_call_id"] for a in answers] == ids
    assert "Alice" in answers[0]["content"]
    assert "Bob" in answers[2]["content"]
    assert refcounts() == [0]


async def test_a_long_tool_result_goes_back_cut_to_the_limit_with_a_note(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    config = dataclasses.replace(agent_config, tool_result_limit=300)
    fake_model.push(tool_calls(("search_contacts", {"limit": 100})), text("Many contacts."))
    seen, record = events(), Recorder()
    await run_turn(tenant, config, seen, record=record)

    full = seen.of("tool.result")[0]["content"][0]["text"]
    assert len(full) > 1000
    fed_back = fake_model.requests[1]["body"]["messages"][-1]["content"]
    assert fed_back.startswith(full[:300])
    assert f"[Cut to the first 300 of {len(full):,} characters." in fed_back
    assert len(fed_back) < 450
    stored = next(m for m in record.messages if m.role == "tool")
    assert stored.content == full, "storage keeps the whole result for the page"


async def test_a_tool_error_from_ghl_is_a_result_marked_as_an_error(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    fake_model.push(
        tool_calls(("get_contact", {"contactId": "ct_missing"})), text("No such contact.")
    )
    seen = events()
    await run_turn(tenant, agent_config, seen)
    result = seen.of("tool.result")[0]
    assert result["isError"] is True
    assert seen.of("chat.done")


async def test_an_unknown_tool_and_unreadable_arguments_go_back_to_the_model_as_errors(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    fake_model.push(
        tool_calls(("drop_database", {}), ("get_contact", '{"contactId": ')),
        text("Sorry."),
    )
    seen = events()
    await run_turn(tenant, agent_config, seen)
    errors = {e["code"]: e for e in seen.of("tool.error")}
    assert set(errors) == {"unknown_tool", "invalid_arguments"}
    assert seen.of("tool.started")[1]["arguments"] == '{"contactId":'
    answers = fake_model.requests[1]["body"]["messages"][-2:]
    assert answers[0]["content"].startswith("Error (unknown_tool): There is no tool named")
    assert answers[1]["content"].startswith("Error (invalid_arguments):")
    assert seen.of("chat.done")


async def test_it_stops_at_the_step_limit_with_a_plain_message(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    config = dataclasses.replace(agent_config, max_steps=2)
    fake_model.push(
        tool_calls(("list_calendars", {})),
        tool_calls(("list_calendars", {}), say="Once more."),
        text("never asked for"),
    )
    seen, record = events(), Recorder()
    await run_turn(tenant, config, seen, record=record)
    assert len(fake_model.requests) == 2
    assert len(seen.of("tool.started")) == 1, "the last step's calls are not run"
    error_event = seen.items[-1]
    assert error_event["type"] == "chat.error"
    assert error_event["code"] == "step_limit"
    assert "2 steps" in error_event["message"]
    last = record.messages[-1]
    assert (last.role, last.content, last.status, last.error_code) == (
        "assistant",
        "Once more.",
        "error",
        "step_limit",
    )
    assert last.tool_calls == []


async def test_history_with_tool_calls_is_replayed_to_the_model(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    call = ToolCall(id="call_earlier", name="list_calendars", arguments="{}")
    history = [
        ChatMessage("user", "Which calendars?"),
        ChatMessage("assistant", "", tool_calls=[call]),
        ChatMessage("tool", "[calendar list]", tool_call_id="call_earlier", tool_name="x"),
        ChatMessage("assistant", "Two calendars."),
        ChatMessage("user", "Thanks"),
    ]
    fake_model.push(text("You're welcome."))
    await run_turn(tenant, agent_config, events(), history=history)
    messages = fake_model.requests[0]["body"]["messages"][1:]
    assert messages == [
        {"role": "user", "content": "Which calendars?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_earlier",
                    "type": "function",
                    "function": {"name": "list_calendars", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_earlier", "content": "[calendar list]"},
        {"role": "assistant", "content": "Two calendars."},
        {"role": "user", "content": "Thanks"},
    ]


# --- the model failing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "code", "words"),
    [
        (error(401, f"Incorrect API key provided: {FAKE_KEY}"), "model_auth", "LLM_API_KEY"),
        (error(404, "The model does not exist"), "model_not_found", "LLM_MODEL"),
        (error(429, "Rate limit reached", "requests"), "model_rate_limited", "busy"),
        (error(500, "boom", "server_error"), "model_unavailable", "HTTP 500"),
        (error(400, "messages: too long"), "model_rejected", "messages: too long"),
        (
            Reply(deltas=[{"content": "Par"}], stream_error={"message": "overloaded"}),
            "model_unavailable",
            "overloaded",
        ),
        (Reply(deltas=[{"content": "Par"}], drop=True), "model_unavailable", "reached"),
    ],
    ids=["401", "404", "429", "500", "400", "error-event", "dropped"],
)
async def test_model_failures_end_the_turn_with_a_plain_message(
    dental, fake_model, agent_config, events, reply, code, words
):
    tenant, _ = dental
    fake_model.push(reply)
    seen, record = events(), Recorder()
    await run_turn(tenant, agent_config, seen, record=record)
    failure = seen.items[-1]
    assert failure["type"] == "chat.error"
    assert failure["code"] == code
    assert words in failure["message"]
    assert FAKE_KEY not in json.dumps(seen.items)
    kept = record.messages[-1]
    assert (kept.status, kept.error_code, kept.error) == ("error", code, failure["message"])


async def test_a_silent_model_times_out_and_its_connection_is_closed(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    # Long enough for the first chunk to arrive on a loaded machine; the silence after it times out.
    config = dataclasses.replace(agent_config, timeout=1.5)
    fake_model.push(Reply(deltas=[{"content": "Thinking"}], hang=True))
    seen, record = events(), Recorder()
    await run_turn(tenant, config, seen, record=record)
    assert seen.items[-1]["code"] == "model_timeout"
    assert "1.5 seconds" in seen.items[-1]["message"]
    assert record.messages[-1].content == "Thinking"
    assert fake_model.wait_for(lambda: fake_model.disconnects == 1)


async def test_a_model_slow_to_answer_at_all_times_out(dental, fake_model, agent_config, events):
    tenant, _ = dental
    config = dataclasses.replace(agent_config, timeout=0.3)
    fake_model.push(Reply(deltas=[{"content": "late"}], header_delay=2.0))
    seen = events()
    await run_turn(tenant, config, seen)
    assert seen.types == ["chat.error"]
    assert seen.items[0]["code"] == "model_timeout"


async def test_a_slow_but_steady_stream_is_not_a_timeout(dental, fake_model, agent_config, events):
    tenant, _ = dental
    # Each gap is under the timeout; the whole answer takes longer than it.
    config = dataclasses.replace(agent_config, timeout=0.4)
    fake_model.push(text("a", "b", "c", "d", "e", delay=0.15))
    seen = events()
    await run_turn(tenant, config, seen)
    assert seen.text == "abcde"
    assert seen.types[-1] == "chat.done"


async def test_without_a_model_it_says_how_to_configure_one(dental, agent_config, events):
    tenant, _ = dental
    seen = events()
    await run_turn(tenant, dataclasses.replace(agent_config, model=""), seen)
    assert seen.types == ["chat.error"]
    assert seen.items[0]["code"] == "model_not_configured"
    assert "LLM_MODEL" in seen.items[0]["message"]


async def test_a_tenant_that_needs_reconnecting_gets_a_plain_error_and_no_model_call(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    tenant.status = Tenant.Status.NEEDS_REAUTH
    seen = events()
    await run_turn(tenant, agent_config, seen)
    assert seen.types == ["chat.error"]
    assert seen.items[0]["code"] == "tenant_unavailable"
    assert fake_model.requests == []


# --- stopping --------------------------------------------------------------------------


async def test_a_stop_while_the_model_streams_closes_its_stream_and_keeps_the_text(
    dental, fake_model, agent_config, events
):
    tenant, _ = dental
    fake_model.push(Reply(deltas=[{"content": "Let me think"}], hang=True))
    seen, record = events(), Recorder()
    task = asyncio.create_task(run_turn(tenant, agent_config, seen, record=record))
    await seen.until(lambda e: e.of("chat.delta"))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen.items[-1] == {"type": "chat.done", "conversation": 7, "stopped": True, "steps": 1}
    assert [(m.role, m.content, m.status) for m in record.messages] == [
        ("assistant", "Let me think", "stopped")
    ]
    assert fake_model.wait_for(lambda: fake_model.disconnects == 1)


async def test_a_stop_during_tool_calls_cancels_them_and_releases_the_child(
    dental, fake_model, agent_config, events, ghl_sandbox
):
    tenant, _ = dental
    ghl_sandbox.fail("/calendars/*", status=500, delay=3)
    fake_model.push(
        tool_calls(("list_calendars", {}), ("get_contact", {"contactId": "ct_dental_alice"})),
        text("never asked for"),
    )
    seen, record = events(), Recorder()
    task = asyncio.create_task(run_turn(tenant, agent_config, seen, record=record))
    await seen.until(lambda e: len(e.of("tool.result")) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen.items[-1]["type"] == "chat.done"
    assert seen.items[-1]["stopped"] is True
    assert len(fake_model.requests) == 1
    answers = {m.tool_name: m for m in record.messages if m.role == "tool"}
    assert answers["list_calendars"].error_code == "cancelled"
    assert answers["list_calendars"].is_error is True
    assert answers["get_contact"].error_code == ""
    assert "Alice" in answers["get_contact"].content
    await released()


# --- a larger toolset ------------------------------------------------------------------


async def test_with_the_full_toolset_it_offers_what_the_request_needs_and_reaches_it(
    dental, bridge, fake_model, agent_config, events, settings
):
    settings.MCP_SERVER_COMMAND = [sys.executable, "-m", "mcpbridge.ghl", "--toolset", "full"]
    tenant, _ = dental
    fake_model.push(
        tool_calls(("locations_get_timezones", {})),
        text("Pick one of those time zones."),
    )
    seen = events()
    history = [ChatMessage("user", "Which time zones can the sub-account use?")]
    await run_turn(tenant, agent_config, seen, history=history)

    offered = [tool["function"]["name"] for tool in fake_model.requests[0]["body"]["tools"]]
    assert len(offered) == agent_config.max_tools == 64
    assert offered[:52] == [tool.name for tool in core_tools()] + [
        "search_operations",
        "describe_operation",
        "call_operation",
    ]
    # The rest were chosen for the request, not by name.
    assert offered[52] == "locations_get_timezones"
    assert offered[52:] != sorted(offered[52:])
    result = seen.of("tool.result")[0]
    assert result["isError"] is False
    assert "America/Chicago" in result["content"][0]["text"]
    assert [r.path for r in bridge.requests()] == [f"/locations/{DENTAL}/timezones"]
    assert seen.types[-1] == "chat.done"
