"""A stand-in worker process: starts one child through a Supervisor, prints its pid, waits.

Usage: worker.py RUN_ROOT {kill|none} [UIDS PYTHON SERVER]

UIDS is one uid, or a range ``FIRST-LAST`` from which the child gets a uid of its own;
SERVER is a copy of ``mcp_server.py`` those uids can read (see ``other_uid_stage``).
A child refused prints ``refused CODE`` instead of its pids.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mcpbridge.supervisor.errors import BridgeError
from mcpbridge.supervisor.supervisor import Supervisor, SupervisorConfig
from tests.supervisor.conftest import SERVER, fixed, make_spec


def identity(uids: str | None) -> tuple[int | None, range | None]:
    if uids is None:
        return None, None
    if "-" in uids:
        first, last = (int(part) for part in uids.split("-"))
        return None, range(first, last + 1)
    return int(uids), None


async def main(root: str, death: str, uids: str | None, python: str, server: Path) -> None:
    uid, uid_range = identity(uids)
    config = SupervisorConfig(
        run_root=Path(root),
        death_signal=signal.SIGKILL if death == "kill" else None,
        uid=uid,
        gid=uid,
        uids=uid_range,
    )
    supervisor = Supervisor(config)
    # Without the parent-death signal, play a child that would outlive its worker.
    flags = ("--ignore-eof",) if death == "none" else ()
    spec = make_spec("acme", python=python, server=server, flags=flags)
    try:
        async with supervisor.acquire("acme", fixed(spec)) as client:
            grandchild = (await client.call_tool("grandchild")).content[0].text
            sys.stdout.write(f"{client.pid} {grandchild}\n")
            sys.stdout.flush()
            await asyncio.sleep(300)
    except BridgeError as exc:
        sys.stdout.write(f"refused {exc.code}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    uids = sys.argv[3] if len(sys.argv) > 3 else None
    python = sys.argv[4] if len(sys.argv) > 4 else sys.executable
    server = Path(sys.argv[5]) if len(sys.argv) > 5 else SERVER
    asyncio.run(main(sys.argv[1], sys.argv[2], uids, python, server))
