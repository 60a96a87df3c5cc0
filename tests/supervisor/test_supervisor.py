from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from mcpbridge.supervisor import metrics
from mcpbridge.supervisor.errors import CallTimeoutError, ChildStoppedError, ToolCallFailedError
from mcpbridge.supervisor.supervisor import Supervisor
from tests.supervisor.conftest import exists, fixed, make_spec, server_command
from tests.supervisor.mcp_server import environment_of

ALLOWED = {"GHL_ACCESS_TOKEN", "GHL_API_KEY", "GHL_LOCATION_ID", "GHL_BASE_URL"}
ALLOWED |= {"PATH", "LANG", "HOME"}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"worker": metrics.WORKER, **labels}) or 0.0


def read_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = [entry.split(b"=", 1) for entry in raw.split(b"\0") if entry]
    return {key.decode(): value.decode() for key, value in pairs}


def stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rfind(")") + 2 :].split()


async def test_a_hundred_concurrent_acquires_for_one_key_spawn_one_child(supervisor: Supervisor):
    spawns = sample("mcp_spawns_total")
    timed = sample("mcp_spawn_seconds_count")
    spec = make_spec("acme")

    async def use() -> int | None:
        async with supervisor.acquire("acme", fixed(spec), version=1) as client:
            await client.call_tool("echo", {"text": "hi"})
            return client.pid

    pids = await asyncio.gather(*(use() for _ in range(100)))

    assert len(set(pids)) == 1
    assert sample("mcp_spawns_total") - spawns == 1
    assert sample("mcp_spawn_seconds_count") - timed == 1
    assert len(list(supervisor.live_pids())) == 1


async def test_two_keys_get_two_children_each_with_only_its_own_environment(
    supervisor: Supervisor, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DATABASE_URL", "postgres://web:secret@db/hub")
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    acme, globex = make_spec("acme"), make_spec("globex")

    async with (
        supervisor.acquire("acme", fixed(acme), version=1) as first,
        supervisor.acquire("globex", fixed(globex), version=1) as second,
    ):
        assert first.pid != second.pid
        environ = {first.pid: read_environ(first.pid), second.pid: read_environ(second.pid)}

    for pid, own, other in [(first.pid, acme, globex), (second.pid, globex, acme)]:
        env = environ[pid]
        assert set(env) == ALLOWED
        assert env["GHL_ACCESS_TOKEN"] == env["GHL_API_KEY"] == own.env["GHL_ACCESS_TOKEN"]
        assert env["GHL_LOCATION_ID"] == own.env["GHL_LOCATION_ID"]
        assert other.env["GHL_ACCESS_TOKEN"] not in "\0".join(f"{k}={v}" for k, v in env.items())
        for inherited in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL"):
            assert inherited not in env
            assert os.environ[inherited] not in env.values()


async def test_the_environment_a_child_sees_is_the_one_it_was_given(supervisor: Supervisor):
    spec = make_spec("acme")
    async with supervisor.acquire("acme", fixed(spec), version=1) as client:
        result = await client.call_tool("env")
    seen = environment_of(result)
    assert set(seen) == ALLOWED
    assert seen["GHL_ACCESS_TOKEN"] == spec.env["GHL_ACCESS_TOKEN"]


async def test_each_child_leads_its_own_process_group_and_has_a_private_home(
    supervisor: Supervisor,
):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        fields = stat_fields(client.pid)
        home = read_environ(client.pid)["HOME"]
        mode = os.stat(home).st_mode
        assert int(fields[2]) == client.pid  # process group
        assert int(fields[3]) == client.pid  # session
        assert stat.S_ISDIR(mode)
        assert mode & 0o777 == 0o700
        assert Path(home).parent.name == supervisor.worker
    await supervisor.shutdown()
    assert not exists(home)


async def test_the_tool_list_is_cached_until_the_server_says_it_changed(supervisor: Supervisor):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        before = [tool.name for tool in (await client.list_tools()).tools]
        await client.call_tool("change_tools")
        for _ in range(100):  # the notification may land just after the reply
            after = [tool.name for tool in (await client.list_tools()).tools]
            if after != before:
                break
            await asyncio.sleep(0.02)
    assert len(after) == len(before) + 1


async def test_a_cached_tool_list_is_served_without_asking_the_child(supervisor: Supervisor):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        first = await client.list_tools()
        freezing = asyncio.create_task(client.call_tool("freeze"))
        await asyncio.sleep(0.2)
        # The child now answers nothing; only a cached listing can come back.
        second = await client.list_tools()
        freezing.cancel()
    assert second == first


async def test_a_tool_list_spread_over_pages_is_read_whole(supervisor: Supervisor):
    spec = make_spec("acme", flags=("--page-size", "3"))
    async with supervisor.acquire("acme", fixed(spec), version=1) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
    assert len(names) == 18
    assert names[0] == "echo"
    assert names[-1] == "leak_token"


async def test_a_tool_error_result_comes_back_as_a_result(supervisor: Supervisor):
    errors = sample("mcp_tool_calls_total", outcome="tool_error")
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        result = await client.call_tool("error_result")
    assert result.is_error
    assert sample("mcp_tool_calls_total", outcome="tool_error") - errors == 1


async def test_a_server_error_fails_the_call_but_keeps_the_child(supervisor: Supervisor):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        with pytest.raises(ToolCallFailedError) as failure:
            await client.call_tool("fail")
        result = await client.call_tool("echo", {"text": "still here"})
    assert failure.value.code == "tool_call_failed"
    assert "exploded" in failure.value.message
    assert result.content[0].text == "still here"


async def test_a_malformed_answer_fails_its_call_at_once_and_keeps_the_child(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(call_timeout=30)
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        with pytest.raises(ToolCallFailedError, match="malformed answer"):
            await asyncio.wait_for(client.call_tool("null_result"), timeout=5)
        result = await client.call_tool("echo", {"text": "still here"})
    assert result.content[0].text == "still here"


async def test_an_answer_nested_too_deep_to_read_is_dropped_and_the_child_keeps_serving(
    supervisor: Supervisor,
):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        with pytest.raises(CallTimeoutError):
            await client.call_tool("deep_result", time_limit=0.5)
        result = await client.call_tool("pid")
    assert int(result.content[0].text) == client.pid


async def test_an_unknown_tool_fails_with_the_servers_message(supervisor: Supervisor):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        with pytest.raises(ToolCallFailedError, match="Unknown tool"):
            await client.call_tool("nope")


async def test_a_client_cannot_be_used_after_its_block_ends(supervisor: Supervisor):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        pass
    with pytest.raises(ChildStoppedError):
        await client.call_tool("echo")


async def test_uses_are_counted_while_their_block_is_open(supervisor: Supervisor):
    spec = make_spec("acme")
    async with supervisor.acquire("acme", fixed(spec), version=1):
        async with supervisor.acquire("acme", fixed(spec), version=1):
            assert [row.refcount for row in supervisor.snapshot()] == [2]
        assert [row.refcount for row in supervisor.snapshot()] == [1]
    assert [row.refcount for row in supervisor.snapshot()] == [0]


async def test_tool_calls_move_the_call_metrics(supervisor: Supervisor):
    ok = sample("mcp_tool_calls_total", outcome="ok")
    timed = sample("mcp_tool_call_seconds_count")
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        active = sample("mcp_children_active")
        rss = sample("mcp_children_rss_bytes")
        await client.call_tool("echo")
        await client.call_tool("echo")
    assert sample("mcp_tool_calls_total", outcome="ok") - ok == 2
    assert sample("mcp_tool_call_seconds_count") - timed == 2
    assert active >= 1
    assert rss > 1_000_000
    await supervisor.shutdown()
    assert sample("mcp_children_active") == active - 1


async def test_a_real_sdk_server_works_as_a_child(supervisor: Supervisor, tmp_path: Path):
    script = tmp_path / "sdk_server.py"
    script.write_text(
        "from mcp.server.mcpserver import MCPServer\n"
        "app = MCPServer('sdk')\n"
        "@app.tool()\n"
        "def add(a: int, b: int) -> int:\n"
        "    return a + b\n"
        "app.run()\n"
    )
    spec = make_spec("acme")
    spec = type(spec)(key="acme", command=(server_command()[0], str(script)), env=spec.env)
    async with supervisor.acquire("acme", fixed(spec)) as client:
        tools = await client.list_tools()
        result = await client.call_tool("add", {"a": 2, "b": 3})
    assert [tool.name for tool in tools.tools] == ["add"]
    assert result.content[0].text == "5"


def test_a_spec_never_shows_its_token_when_printed():
    spec = make_spec("acme")
    token = spec.env["GHL_ACCESS_TOKEN"]
    assert token not in repr(spec)
    assert token not in str(spec)
    assert "acme" in repr(spec)
