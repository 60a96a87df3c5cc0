from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from mcpbridge.sandbox import Sandbox
from tests.conftest import ANSWER_WITHIN, base_env, daphne_start, run_manage
from tests.supervisor.test_processes import wait_gone
from tests.ways_in.test_smoke import ADMIN_TOKEN, create_token, push_credentials

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


@pytest.mark.timeout(600)
def test_sigterm_closes_open_websockets_with_going_away(tmp_path: Path, ghl_sandbox: Sandbox):
    env = base_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        ADMIN_API_TOKEN=ADMIN_TOKEN,
        GHL_BASE_URL=ghl_sandbox.url,
        MCP_RUN_DIR=str(tmp_path / "run"),
        MCP_INIT_TIMEOUT=str(ANSWER_WITHIN),
    )
    migrated = run_manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    url, daphne = daphne_start(env, stderr=subprocess.PIPE, text=True)
    try:
        push_credentials(url, ghl_sandbox)
        token = create_token(env)
        socket_url = url.replace("http://", "ws://") + "/ws/tenants/demo/"
        headers = {"Authorization": f"Bearer {token}"}
        with connect(socket_url, additional_headers=headers, open_timeout=ANSWER_WITHIN) as ws:
            ws.send('{"type": "tools.list"}')
            assert '"tools.list.result"' in str(ws.recv(timeout=ANSWER_WITHIN))
            daphne.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=ANSWER_WITHIN)
        _, stderr = daphne.communicate(timeout=ANSWER_WITHIN)
    finally:
        daphne.kill()
        daphne.wait()
    # A close frame, not a dropped connection: clients reconnect elsewhere, not error out.
    assert closed.value.rcvd is not None, stderr
    assert closed.value.rcvd.code == 1001
    assert "Traceback" not in stderr
