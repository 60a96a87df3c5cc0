"""The runtime facts of the Dockerfile's last stage, read from the file itself.

The rehearsal runs what the image would run, so it takes the start command, the
health check, the environment, the working directory and the user from here rather
than from a copy that could drift.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Runtime:
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = "root"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    build_runs: list[str] = field(default_factory=list)

    @property
    def start_command(self) -> list[str]:
        return [*self.entrypoint, *self.cmd]


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _exec_form(value: str) -> list[str]:
    if not value.startswith("["):
        return ["/bin/sh", "-c", value]
    return [str(part) for part in json.loads(value)]


def _expand(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)


def _apply_env(runtime: Runtime, rest: str, base: dict[str, str]) -> None:
    for pair in shlex.split(rest):
        key, _, value = pair.partition("=")
        runtime.env[key] = _expand(value, {**base, **runtime.env})


def read(path: Path, *, base_env: dict[str, str]) -> Runtime:
    """The last stage's runtime; every stage's RUN lines (to see which build steps run)."""
    runtime = Runtime()
    runs: list[str] = []
    for keyword, rest in _instructions(path.read_text()):
        if keyword == "FROM":
            runtime = Runtime()
        elif keyword == "ENV":
            _apply_env(runtime, rest, base_env)
        elif keyword == "WORKDIR":
            runtime.workdir = rest
        elif keyword == "USER":
            runtime.user = rest
        elif keyword == "ENTRYPOINT":
            runtime.entrypoint = _exec_form(rest)
        elif keyword == "CMD":
            runtime.cmd = _exec_form(rest)
        elif keyword == "HEALTHCHECK":
            runtime.healthcheck = _exec_form(rest.split(" CMD ", 1)[1].strip())
        elif keyword == "RUN":
            runs.append(rest)
    runtime.build_runs = runs
    return runtime
