from __future__ import annotations

import re
import subprocess
import sys

import httpx

from tests.conftest import REPO_ROOT, base_env


def test_manage_py_ghl_sandbox_serves_until_stopped() -> None:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "ghl_sandbox", "--port", "0"],
        cwd=REPO_ROOT,
        env=base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert match, first + process.stderr.read()
        about = httpx.get(f"{match.group(1)}/about", timeout=10).json()
        rest = [process.stdout.readline() for _ in range(12)]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert about["client_id"] == "sandbox-client-id"
    assert "loc_sandbox_dental" in about["locations"]
    assert any("GHL_LOCATION_ID=loc_sandbox_dental" in line for line in rest)
    assert process.returncode in (0, -15)
