"""The sweep of children a dead worker left runs when a server serves, never in a command."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpbridge.supervisor.processes import is_running
from tests.conftest import base_env, run_manage
from tests.supervisor.test_processes import (
    kill_all,
    start_worker,
    wait_gone,
    workers,  # noqa: F401 (a fixture)
)

SWEPT = "ended 2 MCP children left by a worker that is gone"


@pytest.mark.timeout(600)
def test_a_management_command_leaves_a_leftover_child_alone_and_a_serving_daphne_ends_it(
    workers,  # noqa: F811
    daphne_server,
    tmp_path: Path,
):
    root = tmp_path / "run"
    env = {"MCP_RUN_DIR": str(root), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    dead, orphan, grandchild = start_worker(workers, root, "none")
    dead.kill()
    dead.wait()
    try:
        for command in ("migrate", "check"):
            result = run_manage(command, env=base_env(**env), timeout=300)
            assert result.returncode == 0, result.stderr
            assert is_running(orphan), command
            assert is_running(grandchild), command
        server = daphne_server(**env)
        assert server.get("/health").status_code == 200
        assert wait_gone([orphan, grandchild])
        # The sweep logs once it has also removed the dead worker's homes.
        assert SWEPT in server.wait_for_log(SWEPT)
    finally:
        kill_all([orphan, grandchild])
    assert list(root.iterdir()) == []
