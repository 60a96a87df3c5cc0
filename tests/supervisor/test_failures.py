from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable

import pytest

from mcpbridge.supervisor.child_log import LOG_BURST
from mcpbridge.supervisor.errors import (
    CallTimeoutError,
    ChildCrashedError,
    ChildFailedError,
    ChildRestartingError,
    ChildStartFailedError,
    ChildUnresponsiveError,
)
from mcpbridge.supervisor.processes import is_running
from mcpbridge.supervisor.spec import State
from mcpbridge.supervisor.supervisor import Supervisor
from tests.supervisor.conftest import fixed, make_spec
from tests.supervisor.test_supervisor import sample


async def wait_until(predicate: Callable[[], bool], within: float = 5.0) -> bool:
    for _ in range(int(within / 0.02)):
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


def gone(supervisor: Supervisor, pid: int | None) -> bool:
    """The process is gone and the supervisor has finished with it (metrics included)."""
    return pid is not None and not is_running(pid) and pid not in supervisor.live_pids()


async def test_kill_9_mid_call_fails_that_call_and_the_next_call_gets_a_new_child(
    supervisor: Supervisor,
):
    crashes = sample("mcp_crashes_total")
    spec = make_spec("acme")
    async with supervisor.acquire("acme", fixed(spec), version=1) as client:
        call = asyncio.create_task(client.call_tool("sleep", {"seconds": 30}))
        await asyncio.sleep(0.2)
        os.kill(client.pid, signal.SIGKILL)
        # call_timeout is 10 s: a crash error (not a timeout) means it failed at once.
        with pytest.raises(ChildCrashedError) as failure:
            await call
    async with supervisor.acquire("acme", fixed(spec), version=1) as again:
        result = await again.call_tool("echo", {"text": "back"})
    assert failure.value.code == "child_crashed"
    assert again.pid != client.pid
    assert result.content[0].text == "back"
    assert sample("mcp_crashes_total") - crashes == 1


async def test_a_child_that_exits_by_itself_is_replaced_on_next_use(supervisor: Supervisor):
    spec = make_spec("acme")
    async with supervisor.acquire("acme", fixed(spec), version=1) as client:
        with pytest.raises(ChildCrashedError):
            await client.call_tool("crash", {"code": 4})
    assert await wait_until(lambda: not supervisor.live_pids())
    async with supervisor.acquire("acme", fixed(spec), version=1) as again:
        assert (await again.call_tool("echo", {"text": "ok"})).content[0].text == "ok"


async def test_a_hung_tool_hits_the_call_timeout_and_the_child_keeps_serving(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(call_timeout=0.5)
    timeouts = sample("mcp_tool_calls_total", outcome="timeout")
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        with pytest.raises(CallTimeoutError) as failure:
            await client.call_tool("hang")
        await asyncio.sleep(0.3)  # the ping probe answers: the child is only slow
        result = await client.call_tool("echo", {"text": "alive"})
    assert failure.value.code == "call_timeout"
    assert result.content[0].text == "alive"
    assert sample("mcp_tool_calls_total", outcome="timeout") - timeouts == 1


async def test_a_shorter_time_limit_applies_but_never_a_longer_one(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(call_timeout=0.6)
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        with pytest.raises(CallTimeoutError):
            await client.call_tool("sleep", {"seconds": 0.4}, time_limit=0.1)
        with pytest.raises(CallTimeoutError):
            await client.call_tool("sleep", {"seconds": 2}, time_limit=30)


async def test_progress_does_not_extend_the_call_timeout(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(call_timeout=0.5)
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        with pytest.raises(CallTimeoutError):
            await client.call_tool(
                "sleep", {"seconds": 3, "progress": True}, progress_callback=on_progress
            )
    assert len(progress) >= 3


async def test_a_child_that_stops_answering_is_ended_and_its_calls_fail(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(call_timeout=3, ping_timeout=0.3)
    crashes = sample("mcp_crashes_total")
    spec = make_spec("acme")
    async with supervisor.acquire("acme", fixed(spec), version=1) as client:
        waiting = asyncio.create_task(client.call_tool("sleep", {"seconds": 30}))
        with pytest.raises(CallTimeoutError):
            await client.call_tool("freeze", time_limit=0.3)
        # The ping probe goes unanswered: the child is ended and the other call fails
        # before its own 3 s limit.
        with pytest.raises(ChildUnresponsiveError) as failure:
            await waiting
    assert failure.value.code == "child_unresponsive"
    assert await wait_until(lambda: gone(supervisor, client.pid))
    async with supervisor.acquire("acme", fixed(spec), version=1) as again:
        assert again.pid != client.pid
    assert sample("mcp_crashes_total") - crashes == 1


async def test_a_child_flooding_stderr_is_never_blocked(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
):
    spec = make_spec("acme", flags=("--stderr-at-start", str(1024 * 1024)))
    with caplog.at_level(logging.INFO, logger="mcpbridge.child"):
        async with supervisor.acquire("acme", fixed(spec), version=1) as client:
            result = await client.call_tool("stderr", {"bytes": 1024 * 1024})
            echoed = await client.call_tool("echo", {"text": "after"})
        await supervisor.shutdown()
    assert result.content[0].text == "written"
    assert echoed.content[0].text == "after"
    # 20,000 lines were read; the log got a bounded share and a count of the rest.
    logged = [r for r in caplog.records if r.name == "mcpbridge.child"]
    assert LOG_BURST <= len(logged) < 2_000
    notices = [r.getMessage() for r in logged if "not logged" in r.getMessage()]
    dropped = sum(int(notice.split()[0]) for notice in notices)
    assert len(logged) - len(notices) + dropped == 2 * (1024 * 1024 // 100)


async def test_child_stderr_is_logged_redacted_and_tagged_with_its_tenant(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
):
    spec = make_spec("acme")
    token = spec.env["GHL_ACCESS_TOKEN"]
    with caplog.at_level(logging.INFO, logger="mcpbridge.child"):
        async with supervisor.acquire("acme", fixed(spec), version=1) as client:
            await client.call_tool("say_token")
            assert await wait_until(lambda: "token is" in caplog.text)
    said = [r for r in caplog.records if r.name == "mcpbridge.child" and "token is" in r.message]
    assert [r.getMessage() for r in said] == ["token is [redacted]"]
    assert said[0].tenant == "acme"
    assert token not in caplog.text


async def test_the_tenants_token_never_comes_back_in_a_result_or_progress(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
):
    spec = make_spec("acme")
    token = spec.env["GHL_ACCESS_TOKEN"]
    messages: list[str | None] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        messages.append(message)

    async with supervisor.acquire("acme", fixed(spec), version=1) as client:
        result = await client.call_tool("leak_token", progress_callback=progress)
        clean = await client.call_tool("echo", {"text": "nothing secret"})

    dumped = result.model_dump_json()
    assert token not in dumped
    assert result.content[0].text.endswith('"authorization": "Bearer [redacted]"}')
    assert result.structured_content == {"echo": {"headers": ["Bearer [redacted]"]}, "ok": False}
    assert messages == ["using [redacted]"]
    assert clean.content[0].text == "nothing secret"
    assert token not in caplog.text


async def test_a_child_that_hangs_at_initialise_hits_the_init_timeout(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(init_timeout=0.3)
    spec = make_spec("acme", flags=("--hang-on-init",))
    with pytest.raises(ChildStartFailedError) as failure:
        async with supervisor.acquire("acme", fixed(spec), version=1):
            pass
    assert failure.value.code == "child_start_failed"
    assert list(supervisor.live_pids()) == []


async def test_a_command_that_cannot_run_fails_to_start(supervisor: Supervisor):
    spec = make_spec("acme")
    spec = type(spec)(key="acme", command=("/nonexistent/mcp-server",), env=spec.env)
    with pytest.raises(ChildStartFailedError):
        async with supervisor.acquire("acme", fixed(spec)):
            pass


async def test_repeated_failures_back_off_then_turn_fatal_until_new_credentials(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(backoff_base=0.2, max_failures=3)
    broken = make_spec("acme", flags=("--crash-on-start",))

    async def attempt(spec=broken, version=1):
        async with supervisor.acquire("acme", fixed(spec), version=version) as client:
            return client.pid

    with pytest.raises(ChildStartFailedError):
        await attempt()
    with pytest.raises(ChildStartFailedError):  # the first retry is immediate
        await attempt()
    with pytest.raises(ChildRestartingError) as waiting:
        await attempt()
    assert 0 < waiting.value.retry_after <= 0.2
    assert [row.state for row in supervisor.snapshot()] == [State.BACKOFF]
    await asyncio.sleep(0.25)
    with pytest.raises(ChildStartFailedError):
        await attempt()
    with pytest.raises(ChildFailedError) as fatal:
        await attempt()
    assert fatal.value.code == "child_failed"
    assert [row.state for row in supervisor.snapshot()] == [State.FATAL]
    # New credentials deserve a fresh start.
    assert await attempt(make_spec("acme", version=2), version=2)


async def test_a_child_ignoring_eof_and_sigterm_is_killed(supervisor: Supervisor):
    spec = make_spec("acme", flags=("--ignore-eof", "--ignore-sigterm"))
    async with supervisor.acquire("acme", fixed(spec), version=1) as client:
        pass
    await supervisor.stop("acme")
    assert not is_running(client.pid)


async def test_processes_a_child_started_go_with_it(supervisor: Supervisor):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        grandchild = int((await client.call_tool("grandchild")).content[0].text)
        assert is_running(grandchild)
    await supervisor.shutdown()
    assert await wait_until(lambda: not is_running(grandchild))
