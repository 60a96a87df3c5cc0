"""Each live child as a uid of its own (``SupervisorConfig.uids``, MCP_CHILD_UIDS).

Children that share a uid can read each other's ``/proc/<pid>/environ``, GHL token
included: the probe below is a tool run inside one tenant's child that reads the
other tenant's child's environ.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from mcpbridge.supervisor.child_client import ChildClient
from mcpbridge.supervisor.errors import NoFreeUidError
from mcpbridge.supervisor.processes import (
    is_running,
    sweep_leftovers,
    uid_is_held,
    uid_lock_dir,
)
from mcpbridge.supervisor.supervisor import Supervisor, SupervisorConfig
from tests.supervisor.conftest import (
    REPO_ROOT,
    OtherUidStage,
    fixed,
    make_spec,
    unused_uid_block,
)
from tests.supervisor.test_processes import (
    as_root,
    kill_all,
    spawn_worker,
    start_worker,
    wait_gone,
    workers,  # noqa: F401 (a fixture)
)
from tests.supervisor.test_supervisor import read_environ


@pytest.fixture
def uid_block() -> range:
    block = unused_uid_block()
    if block is None:
        pytest.skip("the uids set aside for this test run are in use on this machine")
    return block


def ids_of(pid: int) -> tuple[set[int], set[int]]:
    """The uids and the gids (real, effective, saved, filesystem) ``pid`` runs as."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = {line.split(":", 1)[0]: line.split()[1:] for line in lines}
    return {int(v) for v in fields["Uid"]}, {int(v) for v in fields["Gid"]}


def uid_of(pid: int) -> int:
    uids, gids = ids_of(pid)
    assert len(uids) == 1
    assert gids == uids  # each child's group is the number of its uid
    return uids.pop()


def use(
    supervisor: Supervisor, key: str, stage: OtherUidStage, version: int = 1
) -> AbstractAsyncContextManager[ChildClient]:
    spec = make_spec(key, version=version, python=stage.python, server=stage.server)
    return supervisor.acquire(key, fixed(spec), version=version)


def token_of(key: str, version: int = 1) -> str:
    return make_spec(key, version=version).env["GHL_ACCESS_TOKEN"]


async def read_as(client: ChildClient, path: str) -> tuple[bool, str]:
    result = await client.call_tool("read_file", {"path": path})
    return bool(result.is_error), result.content[0].text


@as_root
async def test_children_of_two_tenants_run_as_different_uids_of_the_range(
    supervisor_factory, other_uid_stage: OtherUidStage, uid_block: range
):
    supervisor = supervisor_factory(uids=uid_block[:4])
    async with (
        use(supervisor, "acme", other_uid_stage) as acme,
        use(supervisor, "beta", other_uid_stage) as beta,
    ):
        acme_uid, beta_uid = uid_of(acme.pid), uid_of(beta.pid)
        acme_home = os.stat(read_environ(acme.pid)["HOME"])
    assert acme_uid != beta_uid
    assert {acme_uid, beta_uid} <= set(uid_block[:4])
    assert (acme_home.st_uid, acme_home.st_gid) == (acme_uid, acme_uid)


@as_root
async def test_a_child_cannot_read_another_tenants_token_from_its_environ(
    supervisor_factory, other_uid_stage: OtherUidStage, uid_block: range
):
    supervisor = supervisor_factory(uids=uid_block[:2])
    async with (
        use(supervisor, "acme", other_uid_stage) as acme,
        use(supervisor, "beta", other_uid_stage) as beta,
    ):
        refused, stolen = await read_as(acme, f"/proc/{beta.pid}/environ")
        _, own = await read_as(acme, "/proc/self/environ")
    assert token_of("beta") not in stolen
    assert (refused, stolen) == (True, "refused: PermissionError")
    # The probe reads an environ it may read (its token scrubbed on the way back).
    assert "GHL_LOCATION_ID=" in own
    assert token_of("acme") not in own


@as_root
async def test_with_one_shared_uid_a_child_can_read_another_tenants_token(
    supervisor_factory, other_uid_stage: OtherUidStage, uid_block: range
):
    # The trade-off of MCP_CHILD_UID, documented in operations.md: why a range exists.
    supervisor = supervisor_factory(uid=uid_block[0], gid=uid_block[0])
    async with (
        use(supervisor, "acme", other_uid_stage) as acme,
        use(supervisor, "beta", other_uid_stage) as beta,
    ):
        _, stolen = await read_as(acme, f"/proc/{beta.pid}/environ")
    assert token_of("beta") in stolen


@as_root
async def test_a_uid_goes_back_to_the_range_whenever_its_child_ends(
    supervisor_factory, other_uid_stage: OtherUidStage, uid_block: range
):
    # One uid in the range: every child after the first proves the one before gave it back.
    (only,) = uid_block[:1]
    supervisor = supervisor_factory(uids=uid_block[:1])
    pids = []
    async with use(supervisor, "acme", other_uid_stage) as client:
        pids.append(client.pid)
        with pytest.raises(Exception, match="stopped unexpectedly"):
            await client.call_tool("crash")
    async with use(supervisor, "acme", other_uid_stage) as client:  # the respawn
        pids.append(client.pid)
    supervisor.recycle("acme", version=2)
    async with use(supervisor, "acme", other_uid_stage, version=2) as client:
        pids.append(client.pid)
    await supervisor.stop("acme")
    async with use(supervisor, "beta", other_uid_stage) as client:
        pids.append(client.pid)
        uids = [only] * 3 + [uid_of(client.pid)]
    assert len(set(pids)) == 4
    assert uids == [only] * 4
    assert uid_is_held(uid_lock_dir(supervisor.config.run_root), only)
    await supervisor.shutdown()
    assert not uid_is_held(uid_lock_dir(supervisor.config.run_root), only)


@as_root
async def test_a_new_child_is_refused_while_every_uid_of_the_range_is_in_use(
    supervisor_factory, other_uid_stage: OtherUidStage, uid_block: range
):
    supervisor = supervisor_factory(uids=uid_block[:1])
    async with use(supervisor, "acme", other_uid_stage) as acme:
        with pytest.raises(NoFreeUidError) as refused:
            async with use(supervisor, "beta", other_uid_stage):
                pass
        still = await acme.call_tool("echo", {"text": "still here"})
    assert refused.value.code == "at_capacity"
    assert "busy" in refused.value.message
    assert still.content[0].text == "still here"
    assert [row.key for row in supervisor.snapshot()] == ["acme"]


@as_root
async def test_an_idle_child_gives_its_uid_to_a_new_tenant_when_the_range_is_full(
    supervisor_factory, other_uid_stage: OtherUidStage, uid_block: range
):
    supervisor = supervisor_factory(uids=uid_block[:1])
    async with use(supervisor, "acme", other_uid_stage) as acme:
        acme_pid = acme.pid
    async with use(supervisor, "beta", other_uid_stage) as beta:
        beta_uid = uid_of(beta.pid)
    assert beta_uid == uid_block[0]
    assert not is_running(acme_pid)


@as_root
async def test_a_process_a_child_left_in_a_session_of_its_own_ends_before_its_uid_is_reused(
    supervisor_factory, other_uid_stage: OtherUidStage, uid_block: range
):
    supervisor = supervisor_factory(uids=uid_block[:1])
    async with use(supervisor, "acme", other_uid_stage) as acme:
        escaped = int((await acme.call_tool("escape")).content[0].text)
        escaped_uid = uid_of(escaped)
    try:
        await supervisor.stop("acme")
        assert not is_running(escaped)
        async with use(supervisor, "beta", other_uid_stage) as beta:
            assert uid_of(beta.pid) == escaped_uid == uid_block[0]
    finally:
        kill_all([escaped])


@as_root
def test_two_workers_sharing_a_run_dir_never_give_children_the_same_uid(
    workers,  # noqa: F811
    tmp_path: Path,
    other_uid_stage: OtherUidStage,
    uid_block: range,
):
    root = tmp_path / "run"
    uids = f"{uid_block[0]}-{uid_block[1]}"
    _, first, first_grandchild = start_worker(workers, root, "kill", other_uid_stage, uids)
    _, second, second_grandchild = start_worker(workers, root, "kill", other_uid_stage, uids)
    try:
        third = spawn_worker(workers, root, "kill", other_uid_stage, uids)
        assert third.stdout.readline() == "refused at_capacity\n"
        assert {uid_of(first), uid_of(second)} == {uid_block[0], uid_block[1]}
    finally:
        kill_all([first, first_grandchild, second, second_grandchild])


@as_root
async def test_a_uid_a_dead_workers_child_still_runs_as_waits_for_the_sweep(
    workers,  # noqa: F811
    supervisor_factory,
    other_uid_stage: OtherUidStage,
    uid_block: range,
):
    # Its worker's lock went with the worker; the child, without a parent-death signal, did not.
    supervisor = supervisor_factory(uids=uid_block[:1])
    root, stage = supervisor.config.run_root, other_uid_stage
    dead, orphan, grandchild = start_worker(
        workers, root, "none", stage, f"{uid_block[0]}-{uid_block[0]}"
    )
    dead.kill()
    dead.wait()
    try:
        with pytest.raises(NoFreeUidError):
            async with use(supervisor, "acme", stage):
                pass
        assert sorted(sweep_leftovers(root, uids=uid_block[:1])) == sorted([orphan, grandchild])
        assert wait_gone([orphan, grandchild])
        async with use(supervisor, "acme", stage) as acme:
            assert uid_of(acme.pid) == uid_block[0]
    finally:
        kill_all([orphan, grandchild])


CLAIMER = """
import os, sys
from pathlib import Path
from mcpbridge.supervisor.processes import uids_running
from mcpbridge.supervisor.uids import UidPool

root, first, count, rounds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
uids = range(first, first + count)
pool = UidPool(uids, root)
claims = clashes = 0
for _ in range(rounds):
    lease = pool.claim()
    if lease is None:
        continue
    claims += 1
    mark = root / "marks" / str(lease.uid)
    try:
        os.close(os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        clashes += 1
    else:
        uids_running(uids)  # hold the uid for a moment of real work
        mark.unlink()
    pool.release(lease)
print(claims, clashes)
"""


def test_two_processes_claiming_from_one_range_never_hold_the_same_uid(
    tmp_path: Path, uid_block: range
):
    (tmp_path / "marks").mkdir()
    args = [str(tmp_path), str(uid_block[0]), "2", "100"]
    env = {"PATH": os.defpath, "PYTHONPATH": str(REPO_ROOT)}
    claimers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, *args], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    results = [tuple(int(n) for n in c.communicate(timeout=300)[0].split()) for c in claimers]
    assert [clashes for _, clashes in results] == [0, 0]
    assert all(claims > 0 for claims, _ in results)


SWEEP_AS_WEB_USER = """
import sys
from pathlib import Path
from mcpbridge.supervisor.processes import sweep_leftovers

root, first, last, stage = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ended = sweep_leftovers(root, uids=range(first, last + 1), python=sys.executable, cwd=stage)
print(*ended)
"""


@pytest.fixture
def shared_run_root() -> Iterator[Path]:
    """A run folder another uid may look into (``tmp_path`` sits in root's private one)."""
    root = Path(tempfile.mkdtemp(prefix="ghlhub-run-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@as_root
@pytest.mark.skipif(not Path("/usr/bin/setpriv").exists(), reason="needs setpriv")
def test_the_sweep_ends_a_dead_workers_children_whatever_uid_of_the_range_they_run_as(
    workers,  # noqa: F811
    shared_run_root: Path,
    other_uid_stage: OtherUidStage,
    uid_block: range,
):
    root, stage = shared_run_root, other_uid_stage
    uids = f"{uid_block[0]}-{uid_block[3]}"
    _, live, live_grandchild = start_worker(workers, root, "none", stage, uids)
    dead, orphan, orphan_grandchild = start_worker(workers, root, "none", stage, uids)
    dead.kill()
    dead.wait()
    # As the image's web user: no root, only the capabilities to switch uid and signal,
    # so only a look as each uid of the range can read its children's HOME.
    caps = "-all,+setuid,+setgid,+kill"
    web_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    web_user += [f"--inh-caps={caps}", f"--ambient-caps={caps}", f"--bounding-set={caps}"]
    sweep_args = [str(uid_block[0]), str(uid_block[3]), str(stage.root)]
    everything = [live, live_grandchild, orphan, orphan_grandchild]
    try:
        assert uid_of(orphan) != uid_of(live)
        result = subprocess.run(
            [*web_user, stage.python, "-c", SWEEP_AS_WEB_USER, str(root), *sweep_args],
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(stage.root)},
            cwd="/",
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        ended = sorted(int(pid) for pid in result.stdout.split())
        assert ended == sorted([orphan, orphan_grandchild]), result.stderr
        assert wait_gone([orphan, orphan_grandchild])
        assert is_running(live)
        assert is_running(live_grandchild)
    finally:
        kill_all(everything)


def test_a_uid_range_takes_the_place_of_a_single_uid_and_leaves_out_root(tmp_path: Path):
    with pytest.raises(ValueError, match="single uid"):
        Supervisor(SupervisorConfig(run_root=tmp_path, uids=range(30_000, 30_010), uid=30_000))
    with pytest.raises(ValueError, match="uid 0"):
        Supervisor(SupervisorConfig(run_root=tmp_path, uids=range(10)))
