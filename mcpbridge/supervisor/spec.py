"""What a child is made from: its spec, the launcher's settings, and its states."""

from __future__ import annotations

import enum
import signal
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mcpbridge.supervisor.child_log import Redactor

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


class State(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    FATAL = "fatal"
    STOPPING = "stopping"
    STOPPED = "stopped"


def replace_secrets(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


@dataclass(frozen=True)
class ChildSpec:
    """What one child runs: the command, its environment and who it is for.

    ``env`` holds the variables particular to the child; PATH, LANG and HOME are added
    by the launcher and nothing else is. ``secrets`` are scrubbed from its stderr.
    """

    key: str
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    version: int = 0
    label: str = ""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    cwd: str | None = None

    @property
    def tag(self) -> str:
        return self.label or self.key


@dataclass(frozen=True)
class LaunchConfig:
    home_root: Path
    init_timeout: float = 20.0
    ping_timeout: float = 5.0
    stop_grace: float = 1.0
    kill_grace: float = 2.0
    path: str = DEFAULT_PATH
    lang: str = "C.UTF-8"
    uid: int | None = None
    gid: int | None = None
    death_signal: int | None = signal.SIGKILL
    redact: Redactor = replace_secrets
    # Runs the marker sweep as ``uid`` (``python -m mcpbridge.supervisor.processes``).
    sweep_python: str = sys.executable
