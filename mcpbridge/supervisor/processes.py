"""Operating-system side of the children: launch hooks, /proc readings, the marker sweeps.

Linux only where it matters (``prctl``, ``/proc``); elsewhere the hooks are no-ops
and the readings return ``None``. No Django, no project imports: the sweeps also run
as a program of its own, as the children's uid (``python -m
mcpbridge.supervisor.processes SWEEP_ROOT`` or ``... --tree HOME``).

The marker is the private HOME each child is given (``ROOT/w<pid>-<start>/c<n>``): it
is in the environment every descendant inherits, so it finds a child's processes
after they left its process group and session (``setsid``) and after the child that
started them is gone. Only a descendant that drops or replaces its HOME escapes it.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4

# Resolved in the parent: the hook below runs between fork and exec, where loading a
# library or importing a module could deadlock on a lock another thread held.
try:
    _prctl: Callable[..., int] | None = ctypes.CDLL(None, use_errno=True).prctl
except (AttributeError, OSError):
    _prctl = None

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_WORKER_DIR = re.compile(r"^w(\d+)-(\d+)$")


def default_run_root() -> Path:
    return Path(tempfile.gettempdir()) / f"ghlhub-mcp-{os.geteuid()}"


def child_preexec(parent_pid: int, death_signal: int | None) -> Callable[[], None]:
    """The hook run in each child after fork, after the uid/gid switch, before exec.

    * Clears ambient capabilities: a web process given CAP_SETUID/CAP_KILL so that it
      can start children as another user must not pass them on.
    * Sets no_new_privs, so the child cannot regain privileges through a setuid binary.
    * Sets the parent-death signal. Linux clears it when credentials change, which is
      why it is set here, after Popen's own setgid/setuid and not before. It fires when
      the thread that forked exits, so children are always started from the event
      loop's thread. A parent that died before the call is caught by the ppid check.

    A hook in the forked child rather than a launcher program that sets these and
    execs the server: no second exec per spawn, and it runs after the uid switch.
    """

    def hook() -> None:
        if _prctl is None:
            return
        _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
        _prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if death_signal is not None:
            _prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
            if os.getppid() != parent_pid:
                os._exit(70)

    return hook


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields after it do not.
    return raw[raw.rfind(")") + 2 :].split()


def process_start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot: with the pid, a process's identity."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return bool(fields and fields[0] not in {"Z", "X"})


def _process_uids(pid: int | str) -> set[int]:
    """The real, effective, saved and filesystem uids of a live process; empty if none."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            lines = {line.split(b":", 1)[0]: line for line in status}
    except OSError:
        return set()
    state = lines.get(b"State", b"State:\tX").split()[1]
    if state in {b"Z", b"X"} or b"Uid" not in lines:
        # A zombie runs nothing and reads nothing: it does not occupy its uid.
        return set()
    return {int(value) for value in lines[b"Uid"].split()[1:]}


def _pids() -> Iterator[str]:
    if Path("/proc").is_dir():
        yield from (entry.name for entry in os.scandir("/proc") if entry.name.isdigit())


def uids_running(uids: range) -> set[int]:
    """The uids of ``uids`` that some live process runs as (in any of its uid slots)."""
    found: set[int] = set()
    for pid in _pids():
        found.update(uid for uid in _process_uids(pid) if uid in uids)
    return found


def end_processes_of(uid: int, *, wait: float = 0.5) -> int:
    """SIGKILL every live process running as ``uid``; wait up to ``wait`` for them to go.

    Only for a uid this worker holds alone: whatever runs as it is ours. Returns how
    many processes were signalled.
    """
    pidfds = []
    for pid in _pids():
        if uid in _process_uids(pid) and (pidfd := _kill(pid, uid)) is not None:
            pidfds.append(pidfd)
    deadline = time.monotonic() + wait
    for pidfd in pidfds:
        with contextlib.suppress(OSError):
            select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
        os.close(pidfd)
    return len(pidfds)


def _kill(pid: str, uid: int) -> int | None:
    # Through a pidfd, with the uid checked again after it is opened: a pid reused in
    # between is never signalled. Returns the pidfd of a process signalled.
    try:
        pidfd = os.pidfd_open(int(pid))
    except OSError:
        return None
    try:
        if uid in _process_uids(pid):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            return pidfd
    except ProcessLookupError:
        pass
    except OSError as exc:
        logger.warning("could not end process %s left running as uid %s: %s", pid, uid, exc)
    os.close(pidfd)
    return None


def uid_lock_dir(run_root: Path) -> Path:
    """Where the workers sharing ``run_root`` lock the uids their children run as."""
    return run_root / "uids"


def uid_is_held(lock_dir: Path, uid: int) -> bool:
    """Does a live worker (this one included) hold ``uid`` for a child right now?"""
    try:
        fd = os.open(lock_dir / str(uid), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        # Closing the descriptor also drops the lock this probe may have taken.
        os.close(fd)
    return False


def process_rss_bytes(pid: int) -> int | None:
    try:
        resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
    except (OSError, IndexError):
        return None
    return int(resident) * _PAGE_SIZE


def worker_id(pid: int | None = None) -> str:
    """This worker's marker: pid and start time, so a reused pid is never mistaken for it."""
    pid = os.getpid() if pid is None else pid
    return f"w{pid}-{process_start_ticks(pid) or 0}"


def worker_alive(marker: str) -> bool:
    match = _WORKER_DIR.match(marker)
    if not match:
        return False
    pid, ticks = int(match.group(1)), int(match.group(2))
    return is_running(pid) and process_start_ticks(pid) == ticks


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid`` (children start their own), if any is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _environ_home(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for entry in raw.split(b"\0"):
        if entry.startswith(b"HOME="):
            return entry[5:].decode(errors="replace")
    return None


def _owner_marker(home: str, root: Path) -> str | None:
    prefix = f"{root}{os.sep}"
    if not home.startswith(prefix):
        return None
    marker = home[len(prefix) :].split(os.sep, 1)[0]
    return marker if _WORKER_DIR.match(marker) else None


HomeTest = Callable[[str], bool]
# A tree whose processes fork while it is scanned needs another pass; a process killed
# cannot fork any more, so each pass leaves fewer to find.
_TREE_PASSES = 5


def _end_marked(pid: int, doomed: HomeTest) -> bool:
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        # Read the marker through the pidfd's process: if the pid were reused between
        # the read and the signal, the signal would fail instead of hitting a stranger.
        home = _environ_home(pid)
        if home is None or not doomed(home):
            return False
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        return True
    except OSError:
        return False
    finally:
        os.close(pidfd)


def _scan(doomed: HomeTest) -> list[int]:
    # The /proc scan itself, as this process's uid: what `main` runs as another uid too.
    if not hasattr(os, "pidfd_open") or not Path("/proc").is_dir():
        return []
    me = os.getpid()
    ended = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != me and _end_marked(int(entry.name), doomed):
            ended.append(int(entry.name))
    return ended


def _left_by_gone_worker(root: Path) -> HomeTest:
    def doomed(home: str) -> bool:
        marker = _owner_marker(home, root)
        return marker is not None and not worker_alive(marker)

    return doomed


def _in_tree(home: str) -> HomeTest:
    below = f"{home}{os.sep}"
    return lambda candidate: candidate == home or candidate.startswith(below)


def _sweep_here(root: Path) -> list[int]:
    return _scan(_left_by_gone_worker(root))


def _end_tree_here(home: str) -> list[int]:
    ended: list[int] = []
    for _ in range(_TREE_PASSES):
        # Again until no new process shows up (one may have forked while we signalled);
        # one that is dying may still be listed, and is signalled again, not counted again.
        new = [pid for pid in _scan(_in_tree(home)) if pid not in ended]
        if not new:
            break
        ended += new
    return ended


def _run_as(
    args: list[str], *, uid: int, gid: int | None, python: str, cwd: str | None
) -> list[int]:
    # Children running as another user keep their environ from us: look as that user.
    result = subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
        [python, "-m", "mcpbridge.supervisor.processes", *args],
        user=uid,
        group=gid,
        extra_groups=[],
        env={"PATH": os.defpath, "LANG": "C.UTF-8"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise OSError(f"the sweep as uid {uid} failed: {result.stderr.strip()[-300:]}")
    return [int(line) for line in result.stdout.split()]


def end_process_tree(
    home: Path,
    *,
    uid: int | None = None,
    gid: int | None = None,
    python: str = sys.executable,
    cwd: str | None = None,
) -> list[int]:
    """SIGKILL every process that carries ``home`` as its HOME: one child's whole tree.

    Run when a child has ended, however it ended, so what it started goes with it,
    including processes in a session of their own that no group signal reaches.
    Children that run as another ``uid`` are looked for as that uid too, as in
    ``sweep_leftovers``. Blocking (a /proc scan): call it off the event loop.
    """
    ended = _end_tree_here(str(home))
    if uid is not None and uid != os.geteuid():
        try:
            ended += _run_as(["--tree", str(home)], uid=uid, gid=gid, python=python, cwd=cwd)
        except (OSError, subprocess.SubprocessError) as exc:
            logger.warning("could not look for processes of a child as uid %s: %s", uid, exc)
    return ended


def sweep_leftovers(
    root: Path,
    *,
    uid: int | None = None,
    gid: int | None = None,
    uids: range | None = None,
    python: str = sys.executable,
    cwd: str | None = None,
) -> list[int]:
    """End the children that workers which are gone left under ``root``; remove their homes.

    A child is recognised by the private HOME it was given (``ROOT/w<pid>-<start>/<n>``),
    never by a command name: a process that is not ours, or belongs to a live worker, is
    left alone. Children that run as another ``uid``, or as uids of the range ``uids``,
    are looked for by a short sweep running as that uid (``python`` and ``cwd`` must let
    it import this package). Of a range, only uids that some process runs as and that no
    live worker holds are looked at. Returns the pids ended. Run once per server, when
    it starts serving.
    """
    ended = _sweep_here(root)
    for other_uid, other_gid in _other_identities(root, uid, gid, uids):
        try:
            ended += _run_as([str(root)], uid=other_uid, gid=other_gid, python=python, cwd=cwd)
        except (OSError, subprocess.SubprocessError) as exc:
            logger.warning("could not look for children left as uid %s: %s", other_uid, exc)
    remove_dead_worker_dirs(root)
    if ended:
        logger.warning("ended %d MCP children left by a worker that is gone", len(ended))
    return ended


def _other_identities(
    root: Path, uid: int | None, gid: int | None, uids: range | None
) -> list[tuple[int, int | None]]:
    found: list[tuple[int, int | None]] = []
    if uid is not None:
        found.append((uid, gid))
    if uids is not None:
        lock_dir = uid_lock_dir(root)
        orphaned = [u for u in uids_running(uids) if not uid_is_held(lock_dir, u)]
        found += [(u, u) for u in sorted(orphaned)]
    return [(u, g) for u, g in found if u != os.geteuid()]


def _reclaim(path: str, uid: int, gid: int) -> None:
    try:
        info = os.lstat(path)
        if info.st_uid != uid:
            os.lchown(path, uid, gid)
        if stat.S_ISDIR(info.st_mode):
            os.chmod(path, 0o700)
            for entry in os.scandir(path):
                _reclaim(entry.path, uid, gid)
    except OSError:
        pass


def remove_tree(path: Path) -> None:
    """Remove ``path``; what a child running as another uid made there is taken back first."""
    if not os.path.lexists(path):
        return
    _reclaim(str(path), os.geteuid(), os.getegid())
    shutil.rmtree(path, ignore_errors=True)


def remove_dead_worker_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if _WORKER_DIR.match(entry.name) and not worker_alive(entry.name):
            remove_tree(entry)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--tree":
        ended = _end_tree_here(argv[2])
    elif len(argv) == 2 and not argv[1].startswith("-"):
        ended = _sweep_here(Path(argv[1]))
    else:
        usage = "usage: python -m mcpbridge.supervisor.processes {SWEEP_ROOT | --tree HOME}"
        print(usage, file=sys.stderr)  # noqa: T201
        return 2
    for pid in ended:
        print(pid)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
