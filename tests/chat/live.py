"""A live hub for the browser tests: daphne in a subprocess on a seeded SQLite file,
and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcpbridge.sandbox import DENTAL, ROOFING, Sandbox
from tests.chat.seed_live import PASSWORD
from tests.conftest import REPO_ROOT, base_env, daphne_start, run_manage

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class LiveHub:
    url: str
    ids: dict[str, Any]
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def live_hub_start(sandbox: Sandbox, root: Path, **env_overrides: str) -> LiveHub:
    """Migrate and seed a SQLite file, then serve it with daphne against ``sandbox``."""
    env = base_env(
        DATABASE_URL=f"sqlite:///{root / 'hub.sqlite3'}",
        GHL_BASE_URL=sandbox.url,
        MCP_RUN_DIR=str(root / "run"),
        **env_overrides,
    )
    migrated = run_manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    tokens = {DENTAL: sandbox.mint_tokens(DENTAL), ROOFING: sandbox.mint_tokens(ROOFING)}
    seeded = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("seed_live.py"))],
        input=json.dumps({"tokens": tokens}),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    url, process = _daphne(env, root / "daphne.log")
    return LiveHub(url, json.loads(seeded.stdout), root / "daphne.log", process, env)


def live_hub_worker(hub: LiveHub, root: Path) -> LiveHub:
    """One more daphne worker of ``hub``: the same database, cache and settings."""
    log = root / "daphne-worker.log"
    url, process = _daphne(hub.env, log)
    return LiveHub(url, hub.ids, log, process, hub.env)


def _daphne(env: dict[str, str], log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    with log.open("wb") as sink:
        return daphne_start(env, stdout=sink, stderr=subprocess.STDOUT)


def sign_in(page: Any, hub: LiveHub, username: str = "dana") -> None:
    """Local sign-in through allauth's form, as a person would."""
    page.goto(f"{hub.url}/accounts/login/?staff=1")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click(".staff-signin button[type=submit]")
    page.wait_for_url(f"{hub.url}/")
