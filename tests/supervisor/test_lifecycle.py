from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from mcpbridge.supervisor.errors import AtCapacityError, ChildStoppedError, ShuttingDownError
from mcpbridge.supervisor.processes import is_running
from mcpbridge.supervisor.spec import State
from mcpbridge.supervisor.supervisor import Supervisor
from tests.supervisor.conftest import fixed, make_spec, our_zombies
from tests.supervisor.mcp_server import environment_of
from tests.supervisor.test_failures import gone, wait_until
from tests.supervisor.test_supervisor import sample


async def use_once(supervisor: Supervisor, key: str, version: int = 1) -> int:
    spec = make_spec(key, version=version)
    async with supervisor.acquire(key, fixed(spec), version=version) as client:
        await client.call_tool("echo")
        return client.pid


async def test_the_reaper_starts_with_the_first_use(supervisor: Supervisor):
    assert supervisor._reaper is None
    await use_once(supervisor, "acme")
    assert supervisor._reaper is not None
    assert not supervisor._reaper.done()


async def test_idle_children_are_reaped_after_the_idle_timeout(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(idle_timeout=0.3, reap_interval=0.05)
    reaped = sample("mcp_reaps_total", reason="idle")
    pid = await use_once(supervisor, "acme")
    assert is_running(pid)
    assert await wait_until(lambda: gone(supervisor, pid))
    assert list(supervisor.live_pids()) == []
    assert sample("mcp_reaps_total", reason="idle") - reaped == 1


async def test_each_use_restarts_the_idle_clock(supervisor_factory: Callable[..., Supervisor]):
    supervisor = supervisor_factory(idle_timeout=0.5, reap_interval=0.05)
    pids = set()
    for _ in range(12):  # 1.2 s in all, never 0.5 s without a use
        pids.add(await use_once(supervisor, "acme"))
        await asyncio.sleep(0.1)
    (pid,) = pids
    assert await wait_until(lambda: gone(supervisor, pid))


async def test_an_in_flight_call_keeps_its_child_from_being_reaped(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(idle_timeout=0.1, reap_interval=0.05)
    spec = make_spec("acme")
    async with supervisor.acquire("acme", fixed(spec), version=1) as client:
        await client.call_tool("sleep", {"seconds": 0.8})
        # Many reaper passes ran during the call; the child was not retired: a new
        # use still goes to it rather than to a fresh one.
        async with supervisor.acquire("acme", fixed(spec), version=1) as again:
            result = await again.call_tool("pid")
    assert again.pid == client.pid
    assert int(result.content[0].text) == client.pid
    assert await wait_until(lambda: gone(supervisor, client.pid))


async def test_very_old_children_are_recycled_once_idle(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(max_lifetime=0.3, reap_interval=0.05)
    recycled = sample("mcp_reaps_total", reason="lifetime")
    spec = make_spec("acme")
    async with supervisor.acquire("acme", fixed(spec), version=1) as client:
        await asyncio.sleep(0.5)
        assert is_running(client.pid)  # in use: past its lifetime but kept
    assert await wait_until(lambda: gone(supervisor, client.pid))
    assert sample("mcp_reaps_total", reason="lifetime") - recycled == 1
    assert await use_once(supervisor, "acme") != client.pid


async def test_a_new_version_takes_new_calls_while_the_old_child_drains(supervisor: Supervisor):
    rotated = sample("mcp_reaps_total", reason="rotated")
    old_spec, new_spec = make_spec("acme", version=1), make_spec("acme", version=2)
    async with supervisor.acquire("acme", fixed(old_spec), version=1) as old:
        slow = asyncio.create_task(old.call_tool("sleep", {"seconds": 0.5}))
        await asyncio.sleep(0.1)
        async with supervisor.acquire("acme", fixed(new_spec), version=2) as new:
            env = environment_of(await new.call_tool("env"))
        assert new.pid != old.pid
        assert env["GHL_ACCESS_TOKEN"] == new_spec.env["GHL_ACCESS_TOKEN"]
        assert is_running(old.pid)
        states = {row.pid: row.state for row in supervisor.snapshot()}
        assert states == {old.pid: State.STOPPING, new.pid: State.RUNNING}
        assert (await slow).content[0].text == "slept"  # the draining child finished its call
    assert await wait_until(lambda: gone(supervisor, old.pid))
    assert is_running(new.pid)
    assert sample("mcp_reaps_total", reason="rotated") - rotated == 1


async def test_an_older_version_is_served_by_the_newer_child(supervisor: Supervisor):
    newer = await use_once(supervisor, "acme", version=3)
    assert await use_once(supervisor, "acme", version=2) == newer


async def test_recycling_sends_the_next_use_to_a_fresh_child(supervisor: Supervisor):
    first = await use_once(supervisor, "acme")
    assert supervisor.recycle("acme", version=2) == 1
    assert await wait_until(lambda: gone(supervisor, first))
    assert await use_once(supervisor, "acme", version=2) != first


async def test_a_revoke_closes_the_child_at_once_and_fails_its_calls(supervisor: Supervisor):
    revoked = sample("mcp_reaps_total", reason="revoked")
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        call = asyncio.create_task(client.call_tool("sleep", {"seconds": 5}))
        await asyncio.sleep(0.1)
        supervisor.recycle("acme", revoke=True)
        with pytest.raises(ChildStoppedError) as failure:
            await call
    assert failure.value.code == "child_stopped"
    assert await wait_until(lambda: gone(supervisor, client.pid))
    assert sample("mcp_reaps_total", reason="revoked") - revoked == 1


async def test_at_capacity_the_least_recently_used_idle_child_is_closed(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(max_children=2)
    evicted = sample("mcp_reaps_total", reason="capacity")
    acme = await use_once(supervisor, "acme")
    globex = await use_once(supervisor, "globex")
    await use_once(supervisor, "acme")  # globex is now the least recently used
    initech = await use_once(supervisor, "initech")
    assert is_running(acme)
    assert is_running(initech)
    assert not is_running(globex)
    assert len(list(supervisor.live_pids())) == 2
    assert sample("mcp_reaps_total", reason="capacity") - evicted == 1


async def test_at_capacity_with_no_idle_child_acquire_fails_fast(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(max_children=1)
    refused = sample("mcp_at_capacity_refusals_total")
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as busy:
        with pytest.raises(AtCapacityError) as failure:
            await use_once(supervisor, "globex")
        assert is_running(busy.pid)
    assert failure.value.code == "at_capacity"
    assert sample("mcp_at_capacity_refusals_total") - refused == 1
    assert failure.value.message


async def test_the_admin_stop_closes_a_child(supervisor: Supervisor):
    stopped = sample("mcp_reaps_total", reason="admin")
    pid = await use_once(supervisor, "acme")
    assert await supervisor.stop("acme") == 1
    assert not is_running(pid)
    assert sample("mcp_reaps_total", reason="admin") - stopped == 1


async def test_after_shutdown_no_child_is_alive_and_none_is_a_zombie(supervisor: Supervisor):
    pids = [await use_once(supervisor, key) for key in ("acme", "globex", "initech")]
    homes = list(supervisor.home_root.iterdir())
    assert len(homes) == 3
    await supervisor.shutdown()
    assert not [pid for pid in pids if is_running(pid)]
    assert not set(pids) & set(our_zombies())
    assert list(supervisor.home_root.iterdir()) == []
    with pytest.raises(ShuttingDownError):
        await use_once(supervisor, "acme")


async def test_shutdown_while_a_child_starts_leaves_nothing_behind(
    supervisor_factory: Callable[..., Supervisor],
):
    supervisor = supervisor_factory(init_timeout=30)
    spec = make_spec("acme", flags=("--hang-on-init",))

    async def start() -> None:
        async with supervisor.acquire("acme", fixed(spec), version=1):
            pass

    starting = asyncio.create_task(start())
    await asyncio.sleep(0.2)
    pids = list(supervisor.live_pids())
    await supervisor.shutdown()
    with pytest.raises(ShuttingDownError):
        await starting
    assert pids
    assert not [pid for pid in pids if is_running(pid)]


def test_kill_now_ends_children_when_no_loop_runs_any_more(
    supervisor_factory: Callable[..., Supervisor],
):
    loop = asyncio.new_event_loop()
    supervisor = Supervisor(supervisor_factory(stop_grace=5).config)
    pids = [loop.run_until_complete(use_once(supervisor, key)) for key in ("acme", "globex")]
    assert all(is_running(pid) for pid in pids)
    supervisor.kill_now()
    assert not [pid for pid in pids if is_running(pid)]
    loop.run_until_complete(supervisor.shutdown())
    loop.close()
