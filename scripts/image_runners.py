"""Two ways to run the image for `make image-check`: a container engine, or a rehearsal.

Both build, run one-off commands (the migrate service's), start the image's own
command, run its HEALTHCHECK, and hand back what the server logged.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import IO, Any

from scripts.dockerfile import Runtime
from scripts.page_check import CheckFailed

IMAGE = "ghl-agent-hub:image-check"


def find_engine() -> str | None:
    """``docker`` or ``podman`` when one is installed *and* answers (a daemon is up)."""
    for engine in ("docker", "podman"):
        if shutil.which(engine) is None:
            continue
        probe = subprocess.run([engine, "info"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return engine
    return None


def _run(command: list[str], **kwargs: Any) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        raise CheckFailed(
            f"{' '.join(command[:6])} ... exited {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


class Runner:
    environment: dict[str, str]

    def build(self) -> None: ...
    def exec(self, command: list[str]) -> str: ...
    def start(self) -> None: ...
    def healthcheck(self) -> None: ...
    def raise_if_exited(self) -> None: ...
    def stop(self) -> None: ...
    def log(self) -> str: ...
    def size_report(self) -> str: ...

    def manage(self, args: list[str]) -> str:
        return self.exec(["python", "manage.py", *args])


def _megabytes(path: Path) -> float:
    total = sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() or f.is_symlink())
    return total / 1_000_000


class RehearsalRunner(Runner):
    """The Dockerfile's steps without an engine: ``prefix`` stands for the image's ``/``."""

    def __init__(self, repo: Path, prefix: Path, runtime: Runtime) -> None:
        self.repo, self.prefix, self.runtime = repo, prefix, runtime
        self.environment = {}
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        user, _, group = runtime.user.partition(":")
        self.uid, self.gid = int(user), int(group or user)

    def _in_prefix(self, value: str) -> str:
        return re.sub(r"(?<![\w/.])/(opt/venv|app)(?=/|:|$)", rf"{self.prefix}/\1", value)

    def _base_python(self) -> str:
        """A Python of the image's minor version that the image's uid may run.

        A virtualenv links to its base interpreter, and the image's user must be able
        to reach it, as it reaches /usr/local/bin/python in the image.
        """
        for candidate in ("/usr/local/bin/python3.11", "/usr/bin/python3.11", "/usr/bin/python3"):
            if not Path(candidate).exists():
                continue
            probe = subprocess.run(
                [candidate, "-c", "import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))"],
                capture_output=True,
                check=False,
                **self._as_user(),
            )
            if probe.returncode == 0:
                return candidate
        raise CheckFailed("no Python 3.11 with venv that the image's uid can run")

    def build(self) -> None:
        steps = [run for run in self.runtime.build_runs if "image-build.sh" in run]
        if not any(" deps " in s for s in steps) or not any(" app " in s for s in steps):
            raise CheckFailed("the Dockerfile no longer builds with scripts/image-build.sh")
        self.prefix.mkdir(mode=0o755, parents=True)
        script = str(self.repo / "scripts" / "image-build.sh")
        env = {**os.environ, "PYTHON": self._base_python()}
        for step in ("deps", "app"):
            _run(["sh", script, step, str(self.repo), str(self.prefix)], env=env, timeout=900)

    def _env(self) -> dict[str, str]:
        image = {key: self._in_prefix(value) for key, value in self.runtime.env.items()}
        # What a container of this image starts with: the base image's and its own ENV,
        # HOME of its user; then what compose passes.
        return {"LANG": "C.UTF-8", "HOME": self._in_prefix("/app"), **image, **self.environment}

    def _as_user(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def _cwd(self) -> str:
        return self._in_prefix(self.runtime.workdir)

    def exec(self, command: list[str]) -> str:
        return _run(
            [*self.runtime.entrypoint, *command],
            env=self._env(),
            cwd=self._cwd(),
            timeout=300,
            **self._as_user(),
        )

    def start(self) -> None:
        self._log = (self.prefix / "server.log").open("w+b")
        self.process = subprocess.Popen(
            self.runtime.start_command,
            env=self._env(),
            cwd=self._cwd(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self._as_user(),
        )

    def healthcheck(self) -> None:
        _run(
            self.runtime.healthcheck,
            env=self._env(),
            cwd=self._cwd(),
            timeout=30,
            **self._as_user(),
        )

    def raise_if_exited(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise CheckFailed(f"the server exited with {self.process.returncode}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return (self.prefix / "server.log").read_text(errors="replace")

    def size_report(self) -> str:
        venv = _megabytes(self.prefix / "opt" / "venv")
        app = _megabytes(self.prefix / "app")
        return (
            f"layers over python:3.11-slim-bookworm: /opt/venv {venv:.0f} MB, "
            f"/app {app:.1f} MB (of which staticfiles "
            f"{_megabytes(self.prefix / 'app' / 'staticfiles'):.1f} MB)"
        )


class ContainerRunner(Runner):
    """The real image, built and run by ``engine`` on the host network."""

    def __init__(self, engine: str, repo: Path, runtime: Runtime) -> None:
        self.engine, self.repo, self.runtime = engine, repo, runtime
        self.environment = {}
        self.name = f"hub-image-check-{os.getpid()}"
        self.started = False

    def _env_args(self) -> list[str]:
        return [arg for key, value in self.environment.items() for arg in ("-e", f"{key}={value}")]

    def build(self) -> None:
        _run([self.engine, "build", "-t", IMAGE, str(self.repo)], timeout=1800)

    def exec(self, command: list[str]) -> str:
        base = [self.engine, "run", "--rm", "--network", "host", *self._env_args()]
        return _run([*base, IMAGE, *command], timeout=300)

    def start(self) -> None:
        base = [self.engine, "run", "-d", "--name", self.name, "--network", "host"]
        _run([*base, *self._env_args(), IMAGE], timeout=60)
        self.started = True

    def healthcheck(self) -> None:
        _run([self.engine, "exec", self.name, *self.runtime.healthcheck], timeout=30)

    def raise_if_exited(self) -> None:
        state = _run([self.engine, "inspect", "-f", "{{.State.Running}}", self.name])
        if state.strip() != "true":
            raise CheckFailed("the container exited")

    def stop(self) -> None:
        if self.started:
            subprocess.run(
                [self.engine, "stop", "-t", "30", self.name], capture_output=True, check=False
            )

    def log(self) -> str:
        if not self.started:
            return ""
        done = subprocess.run(
            [self.engine, "logs", self.name], capture_output=True, text=True, check=False
        )
        return done.stdout + done.stderr

    def size_report(self) -> str:
        size = _run([self.engine, "image", "inspect", "-f", "{{.Size}}", IMAGE]).strip()
        layers = _run([self.engine, "history", "--format", "{{.Size}}\t{{.CreatedBy}}", IMAGE])
        return f"image {int(size) / 1_000_000:.0f} MB; layers:\n{layers}"
