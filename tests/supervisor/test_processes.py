from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcpbridge.supervisor.processes import (
    is_running,
    sweep_as,
    sweep_marked,
    worker_alive,
    worker_id,
)
from mcpbridge.supervisor.supervisor import Supervisor
from tests.conftest import base_env, run_manage
from tests.supervisor.conftest import SERVER, exists, fixed, make_spec
from tests.supervisor.test_supervisor import read_environ

WORKER = Path(__file__).with_name("worker.py")
NOBODY = 65534


def _python_for_nobody() -> str | None:
    """An interpreter that uid 65534 may run (this one may live in root's home)."""
    for python in (sys.executable, "/usr/local/bin/python3", "/usr/bin/python3"):
        if os.geteuid() != 0 or not os.path.exists(python):
            continue
        try:
            subprocess.run([python, "-c", "pass"], user=NOBODY, group=NOBODY, check=True)
        except (OSError, subprocess.CalledProcessError):
            continue
        return python
    return None


PYTHON_FOR_NOBODY = _python_for_nobody()
as_root = pytest.mark.skipif(
    PYTHON_FOR_NOBODY is None,
    reason="switching uid needs root and an interpreter that uid 65534 can run",
)


def wait_gone(pids: list[int], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(is_running(pid) for pid in pids):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def start_worker(workers: list, root: Path, death: str, uid: int | None = None) -> tuple:
    args = [sys.executable, str(WORKER), str(root), death]
    if uid is not None:
        args += [str(uid), str(PYTHON_FOR_NOBODY)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    workers.append(process)
    child, grandchild = (int(pid) for pid in process.stdout.readline().split())
    return process, child, grandchild


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
def test_the_parent_death_signal_survives_the_switch_to_another_uid(workers, tmp_path: Path):
    worker, child, grandchild = start_worker(workers, tmp_path, "kill", uid=NOBODY)
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
async def test_a_child_runs_as_the_configured_uid_with_its_home(supervisor_factory):
    supervisor = supervisor_factory(uid=NOBODY, gid=NOBODY)
    spec = make_spec("acme", python=str(PYTHON_FOR_NOBODY))
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
        ended = sweep_marked(root)
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
def test_a_sweep_as_the_child_uid_finds_children_of_that_uid(workers, tmp_path: Path):
    root = tmp_path / "run"
    root.mkdir(mode=0o711)
    tmp_path.chmod(0o755)
    dead, orphan, grandchild = start_worker(workers, root, "none", uid=NOBODY)
    dead.kill()
    dead.wait()
    repo = str(Path(__file__).resolve().parents[2])
    try:
        ended = sweep_as(root, uid=NOBODY, gid=NOBODY, python=str(PYTHON_FOR_NOBODY), cwd=repo)
        assert sorted(ended) == sorted([orphan, grandchild])
        assert wait_gone([orphan, grandchild])
    finally:
        kill_all([orphan, grandchild])


async def test_a_starting_worker_sweeps_what_a_dead_one_left(workers, supervisor_factory):
    supervisor = supervisor_factory()
    root = supervisor.config.run_root
    dead, orphan, grandchild = start_worker(workers, root, "none")
    dead.kill()
    dead.wait()
    leftover_dirs = [p.name for p in root.iterdir()]
    try:
        assert sorted(supervisor.sweep_leftovers()) == sorted([orphan, grandchild])
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
def test_a_web_process_with_switching_capabilities_passes_none_to_children():
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
    repo = str(Path(__file__).resolve().parents[2])

    def child_status(mode: str) -> str:
        command = [*web_user, str(PYTHON_FOR_NOBODY), "-c", SPAWN_WITH_HOOK, mode]
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": repo}
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout

    without, with_hook = child_status("plain"), child_status("hook")
    assert "CapEff:\t00000000000000e1" in without  # what the hook is there to prevent
    assert "Uid:\t65533" in with_hook
    assert "CapEff:\t0000000000000000" in with_hook
    assert "CapAmb:\t0000000000000000" in with_hook
    assert "NoNewPrivs:\t1" in with_hook


def test_django_starting_ends_children_a_dead_worker_left(workers, tmp_path: Path):
    root = tmp_path / "run"
    dead, orphan, grandchild = start_worker(workers, root, "none")
    dead.kill()
    dead.wait()
    try:
        result = run_manage("check", env=base_env(MCP_RUN_DIR=str(root)))
        assert result.returncode == 0, result.stderr
        assert wait_gone([orphan, grandchild])
    finally:
        kill_all([orphan, grandchild])
    assert "ended 2 MCP children left by a worker that is gone" in result.stderr
    assert list(root.iterdir()) == []
