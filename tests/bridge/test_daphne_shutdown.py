from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import ANSWER_WITHIN, base_env, daphne_start
from tests.supervisor.test_processes import wait_gone

KEYS = ("acme", "globex")


# Each step waits on its event (an answer, daphne's exit); the mark only bounds a hang.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_daphne_closes_every_child_when_it_is_told_to_stop(tmp_path: Path, stop_signal):
    run_dir = tmp_path / "run"
    # A child slow to start on a busy machine is still a child: no start deadline to miss.
    env = base_env(MCP_RUN_DIR=str(run_dir), MCP_INIT_TIMEOUT=str(ANSWER_WITHIN))
    app = "tests.bridge.asgi_app:application"
    url, daphne = daphne_start(env, app=app, stderr=subprocess.PIPE, text=True)
    try:
        pids = [int(httpx.get(f"{url}/{key}", timeout=ANSWER_WITHIN).text) for key in KEYS]
        daphne.send_signal(stop_signal)
        _, stderr = daphne.communicate()
    finally:
        daphne.kill()
        daphne.wait()
    assert wait_gone(pids)
    # Homes are removed by the orderly shutdown only: it ran, not just the parent-death kill.
    assert [list(worker.iterdir()) for worker in run_dir.iterdir()] == [[]]
    assert "Traceback" not in stderr
