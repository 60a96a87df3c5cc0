"""A stand-in worker process: starts one child through a Supervisor, prints its pid, waits.

Usage: worker.py RUN_ROOT {kill|none} [UID PYTHON SERVER]

SERVER is a copy of ``mcp_server.py`` that UID can read (see ``other_uid_stage``).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mcpbridge.supervisor.supervisor import Supervisor, SupervisorConfig
from tests.supervisor.conftest import SERVER, fixed, make_spec


async def main(root: str, death: str, uid: int | None, python: str, server: Path) -> None:
    config = SupervisorConfig(
        run_root=Path(root),
        death_signal=signal.SIGKILL if death == "kill" else None,
        uid=uid,
        gid=uid,
    )
    supervisor = Supervisor(config)
    # Without the parent-death signal, play a child that would outlive its worker.
    flags = ("--ignore-eof",) if death == "none" else ()
    spec = make_spec("acme", python=python, server=server, flags=flags)
    async with supervisor.acquire("acme", fixed(spec)) as client:
        grandchild = (await client.call_tool("grandchild")).content[0].text
        sys.stdout.write(f"{client.pid} {grandchild}\n")
        sys.stdout.flush()
        await asyncio.sleep(300)


if __name__ == "__main__":
    uid = int(sys.argv[3]) if len(sys.argv) > 3 else None
    python = sys.argv[4] if len(sys.argv) > 4 else sys.executable
    server = Path(sys.argv[5]) if len(sys.argv) > 5 else SERVER
    asyncio.run(main(sys.argv[1], sys.argv[2], uid, python, server))
