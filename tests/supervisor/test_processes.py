from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcpbridge.supervisor.processes import (
    is_running,
    sweep_leftovers,
    worker_alive,
    worker_id,
)
from mcpbridge.supervisor.supervisor import Supervisor
from tests.supervisor.conftest import (
    NOBODY,
    SERVER,
    OtherUidStage,
    exists,
    fixed,
    make_spec,
    python_for_nobody,
)
from tests.supervisor.test_supervisor import read_environ

WORKER = Path(__file__).with_name("worker.py")


PYTHON_FOR_NOBODY = python_for_nobody()
as_root = pytest.mark.skipif(
    PYTHON_FOR_NOBODY is None,
    reason="switching uid needs root and an interpreter that uid 65534 can run",
)


def wait_gone(pids: list[int], within: float = 120.0) -> bool:
    """Wait until each process has ended: its pidfd turns readable when it does.

    An event, not a guess: ``within`` only bounds a hang, so a busy machine is not a failure.
    """
    deadline = time.monotonic() + within
    for pid in pids:
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            if not select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                return False
        finally:
            os.close(pidfd)
    return True


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def start_worker(
    workers: list,
    root: Path,
    death: str,
    stage: OtherUidStage | None = None,
    uids: str = str(NOBODY),
) -> tuple:
    """A worker with one child (and its grandchild); with a ``stage``, the child runs as
    ``uids``: 65534, another uid, or one of a range ``FIRST-LAST``."""
    process = spawn_worker(workers, root, death, stage, uids)
    child, grandchild = (int(pid) for pid in process.stdout.readline().split())
    return process, child, grandchild


def spawn_worker(
    workers: list, root: Path, death: str, stage: OtherUidStage | None, uids: str
) -> subprocess.Popen:
    args = [sys.executable, str(WORKER), str(root), death]
    if stage is not None:
        args += [uids, stage.python, str(stage.server)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    workers.append(process)
    return process


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        if is_running(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_worker_killed_with_sigkill_takes_its_children_with_it(workers, tmp_path: Path):
    worker, child, grandchild = start_worker(workers, tmp_path, "kill")
    worker.kill()
    worker.wait()
    try:
        assert wait_gone([child])
    finally:
        kill_all([child, grandchild])


@as_root
def test_the_parent_death_signal_survives_the_switch_to_another_uid(
    workers, tmp_path: Path, other_uid_stage: OtherUidStage
):
    worker, child, grandchild = start_worker(workers, tmp_path, "kill", other_uid_stage)
    status = Path(f"/proc/{child}/status").read_text()
    worker.kill()
    worker.wait()
    try:
        assert wait_gone([child])
    finally:
        kill_all([child, grandchild])
    assert f"Uid:\t{NOBODY}\t{NOBODY}\t{NOBODY}\t{NOBODY}" in status
    assert "Groups:\t\n" in status or "Groups:\t \n" in status
    assert "NoNewPrivs:\t1" in status
    assert "CapEff:\t0000000000000000" in status


@as_root
async def test_a_child_runs_as_the_configured_uid_with_its_home(
    supervisor_factory, other_uid_stage: OtherUidStage
):
    supervisor = supervisor_factory(uid=NOBODY, gid=NOBODY)
    spec = make_spec("acme", python=other_uid_stage.python, server=other_uid_stage.server)
    async with supervisor.acquire("acme", fixed(spec)) as client:
        home = read_environ(client.pid)["HOME"]
        owner = os.stat(home)
        reply = await client.call_tool("echo", {"text": "as nobody"})
    assert (owner.st_uid, owner.st_gid) == (NOBODY, NOBODY)
    assert reply.content[0].text == "as nobody"
    await supervisor.shutdown()
    assert not exists(home)


def test_the_sweep_ends_only_marked_children_of_dead_workers(workers, tmp_path: Path):
    root = tmp_path / "run"
    _, live_child, live_grandchild = start_worker(workers, root, "none")
    dead, orphan, orphan_grandchild = start_worker(workers, root, "none")
    dead.kill()
    dead.wait()
    # Same program, same arguments, not started by a worker: not ours.
    decoy = subprocess.Popen(
        [sys.executable, str(SERVER)], stdin=subprocess.PIPE, env={"HOME": str(tmp_path)}
    )
    everything = [live_child, live_grandchild, orphan, orphan_grandchild, decoy.pid]
    try:
        assert is_running(orphan)  # no parent-death signal for this worker
        ended = sweep_leftovers(root)
        assert sorted(ended) == sorted([orphan, orphan_grandchild])
        assert wait_gone([orphan, orphan_grandchild])
        assert all(is_running(pid) for pid in [live_child, live_grandchild, decoy.pid])
    finally:
        decoy.kill()
        decoy.wait()
        kill_all(everything)


def test_a_worker_marker_names_a_live_process_only_while_it_lives():
    process = subprocess.Popen(["sleep", "30"])
    marker = worker_id(process.pid)
    assert worker_alive(marker)
    assert worker_alive(worker_id())
    process.kill()
    process.wait()
    assert not worker_alive(marker)
    assert not worker_alive("w1-1")
    assert not worker_alive("not-a-marker")


async def test_children_carry_this_workers_marker_in_their_home(supervisor: Supervisor):
    async with supervisor.acquire("acme", fixed(make_spec("acme"))) as client:
        home = read_environ(client.pid)["HOME"]
    assert home.startswith(f"{supervisor.config.run_root}/{worker_id()}/")


@as_root
def test_a_sweep_as_the_child_uid_finds_children_of_that_uid(
    workers, tmp_path: Path, other_uid_stage: OtherUidStage
):
    root = tmp_path / "run"
    root.mkdir(mode=0o711)
    dead, orphan, grandchild = start_worker(workers, root, "none", other_uid_stage)
    dead.kill()
    dead.wait()
    stage = other_uid_stage
    try:
        ended = sweep_leftovers(
            root, uid=NOBODY, gid=NOBODY, python=stage.python, cwd=str(stage.root)
        )
        assert sorted(ended) == sorted([orphan, grandchild])
        assert wait_gone([orphan, grandchild])
    finally:
        kill_all([orphan, grandchild])


def test_the_sweep_removes_the_homes_a_dead_worker_left(workers, tmp_path: Path):
    root = tmp_path / "run"
    dead, orphan, grandchild = start_worker(workers, root, "none")
    dead.kill()
    dead.wait()
    leftover_dirs = [p.name for p in root.iterdir()]
    try:
        assert sorted(sweep_leftovers(root)) == sorted([orphan, grandchild])
        assert wait_gone([orphan, grandchild])
    finally:
        kill_all([orphan, grandchild])
    assert len(leftover_dirs) == 1
    assert not root.joinpath(leftover_dirs[0]).exists()


SPAWN_WITH_HOOK = """
import os, subprocess, sys
from mcpbridge.supervisor.processes import child_preexec
hook = child_preexec(os.getpid(), 9) if sys.argv[1] == "hook" else None
subprocess.run(["grep", "-E", "^(Uid|Cap|NoNewPrivs)", "/proc/self/status"],
               user=65533, group=65533, extra_groups=[], preexec_fn=hook, check=True)
"""


@as_root
@pytest.mark.skipif(not Path("/usr/bin/setpriv").exists(), reason="needs setpriv")
def test_a_web_process_with_switching_capabilities_passes_none_to_children(
    other_uid_stage: OtherUidStage,
):
    caps = "-all,+setuid,+setgid,+kill,+chown"
    web_user = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        f"--inh-caps={caps}",
        f"--ambient-caps={caps}",
        f"--bounding-set={caps}",
    ]

    def child_status(mode: str) -> str:
        command = [*web_user, other_uid_stage.python, "-c", SPAWN_WITH_HOOK, mode]
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(other_uid_stage.root)}
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout

    without, with_hook = child_status("plain"), child_status("hook")
    assert "CapEff:\t00000000000000e1" in without  # what the hook is there to prevent
    assert "Uid:\t65533" in with_hook
    assert "CapEff:\t0000000000000000" in with_hook
    assert "CapAmb:\t0000000000000000" in with_hook
    assert "NoNewPrivs:\t1" in with_hook


END_TREE = """
import sys
from pathlib import Path
from mcpbridge.supervisor.processes import end_process_tree
uid = int(sys.argv[2]) if sys.argv[2:] else None
print(*end_process_tree(Path(sys.argv[1]), uid=uid, gid=uid, cwd=sys.argv[3] if uid else None))
"""


@as_root
@pytest.mark.skipif(not Path("/usr/bin/setpriv").exists(), reason="needs setpriv")
def test_a_web_process_ends_a_detached_process_of_a_child_running_as_another_uid(
    other_uid_stage: OtherUidStage, tmp_path: Path
):
    # The web process runs as 65534 with only the capabilities to switch users: it
    # cannot read the environ of uid 65533's processes, so it must look as that uid.
    caps = "-all,+setuid,+setgid,+kill,+chown"
    web_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    web_user += [f"--inh-caps={caps}", f"--ambient-caps={caps}", f"--bounding-set={caps}"]
    home = tmp_path / "w1-1" / "c1"
    detached = subprocess.Popen(
        ["sleep", "300"],
        user=65533,
        group=65533,
        extra_groups=[],
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
        start_new_session=True,
    )

    def end_tree(*args: str) -> str:
        command = [*web_user, other_uid_stage.python, "-c", END_TREE, str(home), *args]
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(other_uid_stage.root)}
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout

    try:
        assert end_tree().split() == []  # blind as itself
        assert is_running(detached.pid)
        assert end_tree("65533", str(other_uid_stage.root)).split() == [str(detached.pid)]
        assert wait_gone([detached.pid])
    finally:
        detached.kill()
        detached.wait()
