"""A child's whole process tree ends with it, even what left its group and session."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator

import pytest

from mcpbridge.supervisor.errors import ChildCrashedError
from mcpbridge.supervisor.processes import is_running
from mcpbridge.supervisor.supervisor import Supervisor
from tests.supervisor.conftest import fixed, make_spec

# Generous: the pass condition is the exit itself, seen through a pidfd.
DEADLINE = 30.0


class Exit:
    """The exit of a process that is running now, awaited without polling."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._pidfd = os.pidfd_open(pid)

    async def wait(self, within: float = DEADLINE) -> bool:
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        loop.add_reader(self._pidfd, readable.set)
        try:
            async with asyncio.timeout(within):
                await readable.wait()
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(self._pidfd)
        return True

    def close(self) -> None:
        if is_running(self.pid):
            os.kill(self.pid, 9)
        os.close(self._pidfd)


@pytest.fixture
def exits() -> Iterator[Callable[[int], Exit]]:
    watched: list[Exit] = []

    def watch(pid: int) -> Exit:
        watched.append(Exit(pid))
        return watched[-1]

    yield watch
    for exit_ in watched:
        exit_.close()


async def detached_grandchild(client) -> int:
    pid = int((await client.call_tool("escape")).content[0].text)
    assert os.getsid(pid) == pid  # its own session, out of the child's process group
    return pid


async def test_a_detached_grandchild_ends_when_its_child_is_stopped(
    supervisor: Supervisor, exits: Callable[[int], Exit]
):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        grandchild = exits(await detached_grandchild(client))
    await supervisor.stop("acme")
    assert await grandchild.wait()


async def test_a_detached_grandchild_ends_when_its_child_crashes(
    supervisor: Supervisor, exits: Callable[[int], Exit]
):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        grandchild = exits(await detached_grandchild(client))
        child = exits(client.pid)
        with pytest.raises(ChildCrashedError):
            await client.call_tool("crash")
    assert await child.wait()
    assert await grandchild.wait()


async def test_a_detached_grandchild_ends_when_its_child_is_recycled(
    supervisor: Supervisor, exits: Callable[[int], Exit]
):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        grandchild = exits(await detached_grandchild(client))
    assert supervisor.recycle("acme") == 1
    assert await grandchild.wait()


async def test_detached_grandchildren_end_when_the_supervisor_shuts_down(
    supervisor: Supervisor, exits: Callable[[int], Exit]
):
    grandchildren = []
    for key in ("acme", "globex"):
        async with supervisor.acquire(key, fixed(make_spec(key)), version=1) as client:
            grandchildren.append(exits(await detached_grandchild(client)))
    await supervisor.shutdown()
    assert all(await asyncio.gather(*(g.wait() for g in grandchildren)))


async def test_ending_a_child_leaves_other_childrens_detached_processes_alone(
    supervisor: Supervisor, exits: Callable[[int], Exit]
):
    async with supervisor.acquire("acme", fixed(make_spec("acme")), version=1) as client:
        acme = exits(await detached_grandchild(client))
    async with supervisor.acquire("globex", fixed(make_spec("globex")), version=1) as client:
        globex = exits(await detached_grandchild(client))
    await supervisor.stop("acme")
    assert await acme.wait()
    assert is_running(globex.pid)
