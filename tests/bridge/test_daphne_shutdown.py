from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, base_env, free_port
from tests.supervisor.test_processes import wait_gone


def wait_listening(url: str, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.TransportError:
            subprocess.run(["sleep", "0.05"], check=True)
    raise RuntimeError("daphne did not start")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_daphne_closes_every_child_when_it_is_told_to_stop(tmp_path: Path, stop_signal):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    run_dir = tmp_path / "run"
    env = base_env(MCP_RUN_DIR=str(run_dir))
    app = "tests.bridge.asgi_app:application"
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app],
        cwd=REPO_ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_listening(f"{url}/health", daphne)
        pids = [int(httpx.get(f"{url}/{key}", timeout=15).text) for key in ("acme", "globex")]
        daphne.send_signal(stop_signal)
        _, stderr = daphne.communicate(timeout=20)
    finally:
        daphne.kill()
        daphne.wait()
    assert wait_gone(pids)
    # Homes are removed by the orderly shutdown only: it ran, not just the parent-death kill.
    assert [list(worker.iterdir()) for worker in run_dir.iterdir()] == [[]]
    assert "Traceback" not in stderr
