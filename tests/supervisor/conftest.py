from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mcpbridge.supervisor.processes import is_running, uids_running
from mcpbridge.supervisor.spec import ChildSpec
from mcpbridge.supervisor.supervisor import SpecBuilder, Supervisor, SupervisorConfig

SERVER = Path(__file__).with_name("mcp_server.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534


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


@functools.cache
def python_for_nobody() -> str | None:
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


@dataclass(frozen=True)
class OtherUidStage:
    """What code run as uid 65534 needs from this checkout, where that uid can read it."""

    python: str
    root: Path  # holds the test MCP server and the mcpbridge.supervisor package

    @property
    def server(self) -> Path:
        return self.root / SERVER.name


def _stage(root: Path) -> None:
    package = REPO_ROOT / "mcpbridge"
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(package / "supervisor", root / "mcpbridge" / "supervisor", ignore=skip)
    shutil.copy(package / "__init__.py", root / "mcpbridge" / "__init__.py")
    shutil.copy(SERVER, root / SERVER.name)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _readable_by_nobody(stage: OtherUidStage) -> str:
    """Why uid 65534 cannot import the staged package, or "" when it can."""
    result = subprocess.run(
        [stage.python, "-c", "import mcpbridge.supervisor.processes"],
        user=NOBODY,
        group=NOBODY,
        env={"PATH": os.defpath, "PYTHONPATH": str(stage.root)},
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stderr.strip()[-300:] if result.returncode else ""


@pytest.fixture(scope="session")
def other_uid_stage() -> Iterator[OtherUidStage]:
    # A newcomer's checkout sits in a private home (mode 0700) that another uid cannot
    # enter: what runs as that uid gets a world-readable copy of just what it needs.
    python = python_for_nobody()
    if python is None:
        pytest.skip("switching uid needs root and an interpreter that uid 65534 can run")
    stage = OtherUidStage(python=python, root=Path(tempfile.mkdtemp(prefix="ghlhub-")))
    try:
        _stage(stage.root)
        problem = _readable_by_nobody(stage)
        if problem:
            pytest.skip(f"uid 65534 cannot read a copy in {stage.root}: {problem}")
        yield stage
    finally:
        shutil.rmtree(stage.root, ignore_errors=True)


def unused_uid_block() -> range | None:
    """Eight uids no process runs as, apart from those of a test run in another process."""
    base = 30_000 + (os.getpid() % 2_000) * 8
    block = range(base, base + 8)
    return None if uids_running(block) else block
