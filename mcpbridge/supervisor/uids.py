"""A uid of its own for each child: claimed from a range, held while the child lives.

Children that share a uid can read each other's ``/proc/<pid>/environ``, and so each
other's GHL token. With a range, every live child runs as a uid no other live child
has, in this worker or in any other worker on the host that shares the run folder.

A uid is held through an ``flock`` on ``RUN_ROOT/uids/<uid>``, taken by the worker
for the life of the child. The kernel drops it when the descriptor closes, so a
worker that dies, however it dies, frees its uids with it; nothing on disk has to
be cleaned. A uid whose lock is free but that still has processes (a dead worker's
children, not yet swept) is not handed out until they are gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from mcpbridge.supervisor.processes import end_processes_of, uid_lock_dir, uids_running

_LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


def check_uid_range(uids: range) -> None:
    """Refuse a range that would hand a child root, or nothing at all."""
    if uids.step != 1 or len(uids) == 0:
        raise ValueError("the uid range must be a non-empty run of consecutive uids")
    if uids.start < 1:
        raise ValueError("the uid range must leave out uid 0")


@dataclass
class UidLease:
    """One claimed uid; the lock lives exactly as long as ``fd`` stays open."""

    uid: int
    fd: int = field(repr=False)

    @property
    def gid(self) -> int:
        # Each child's group is the number of its uid: no group is shared either.
        return self.uid


class UidPool:
    """The uids of ``uids`` this worker may hand out, claimed against every other worker."""

    def __init__(self, uids: range, run_root: Path) -> None:
        check_uid_range(uids)
        self.uids = uids
        self.lock_dir = uid_lock_dir(run_root)
        self._held: dict[int, UidLease] = {}

    def claim(self) -> UidLease | None:
        """The lowest uid no live worker holds and no process runs as; None when none is."""
        self._prepare_lock_dir()
        running = uids_running(self.uids)
        for uid in self.uids:
            if uid in self._held or uid in running:
                continue
            lease = self._try_lock(uid)
            if lease is not None:
                self._held[uid] = lease
                return lease
        return None

    def release(self, lease: UidLease) -> None:
        """Give ``lease`` back once its child has ended.

        What is still running as the uid came from that child (a grandchild that left
        its process group): it is ended first, so the next child of the uid, maybe
        another tenant's, never meets it.
        """
        if self._held.get(lease.uid) is not lease:
            return
        try:
            end_processes_of(lease.uid)
        finally:
            del self._held[lease.uid]
            os.close(lease.fd)

    def _try_lock(self, uid: int) -> UidLease | None:
        fd = os.open(self.lock_dir / str(uid), _LOCK_FLAGS, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return UidLease(uid, fd)

    def _prepare_lock_dir(self) -> None:
        with contextlib.suppress(FileExistsError):
            self.lock_dir.mkdir(mode=0o700)
        info = self.lock_dir.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            raise OSError(f"{self.lock_dir} must be a folder owned by this process's user")
