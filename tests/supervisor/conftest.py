from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from mcpbridge.supervisor.processes import is_running
from mcpbridge.supervisor.spec import ChildSpec
from mcpbridge.supervisor.supervisor import SpecBuilder, Supervisor, SupervisorConfig

SERVER = Path(__file__).with_name("mcp_server.py")


def server_command(
    *flags: str, python: str = sys.executable, server: Path = SERVER
) -> tuple[str, ...]:
    return (python, str(server), *flags)


def make_spec(
    key: str = "acme",
    *,
    version: int = 1,
    flags: tuple[str, ...] = (),
    python: str = sys.executable,
    server: Path = SERVER,
) -> ChildSpec:
    token = f"tok-{key}-v{version}-0123456789abcdef"
    return ChildSpec(
        key=key,
        command=server_command(*flags, python=python, server=server),
        env={
            "GHL_ACCESS_TOKEN": token,
            "GHL_API_KEY": token,
            "GHL_LOCATION_ID": f"loc-{key}",
            "GHL_BASE_URL": "http://127.0.0.1:9",
        },
        version=version,
        label=key,
        secrets=(token,),
    )


def fixed(spec: ChildSpec) -> SpecBuilder:
    async def build() -> ChildSpec:
        return spec

    return build


def our_zombies() -> list[int]:
    """Children of this process that exited and were never reaped."""
    zombies = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            zombies.append(int(entry.name))
    return zombies


FAST = {
    "idle_timeout": 600.0,
    "reap_interval": 600.0,
    "init_timeout": 10.0,
    "call_timeout": 10.0,
    "ping_timeout": 1.0,
    "stop_grace": 0.5,
    "kill_grace": 0.5,
    "stable_after": 30.0,
}


@pytest.fixture
async def supervisor_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Supervisor]]:
    """Supervisors with short timeouts; each one is shut down, and checked clean, after the test."""
    made: list[Supervisor] = []

    def make(**overrides: object) -> Supervisor:
        config = SupervisorConfig(**{**FAST, "run_root": tmp_path / "run", **overrides})
        supervisor = Supervisor(config)
        made.append(supervisor)
        return supervisor

    yield make
    for supervisor in made:
        pids = list(supervisor.live_pids())
        await supervisor.shutdown()
        assert not [pid for pid in pids if is_running(pid)]


@pytest.fixture
def supervisor(supervisor_factory: Callable[..., Supervisor]) -> Supervisor:
    return supervisor_factory()


def with_version(spec: ChildSpec, version: int) -> ChildSpec:
    return dataclasses.replace(make_spec(spec.key, version=version), command=spec.command)


def exists(path: str | Path) -> bool:
    return os.path.lexists(path)
