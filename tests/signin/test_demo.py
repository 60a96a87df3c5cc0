"""`make demo`: the sandbox and the web app, signed in through it, offline, over real HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx

from mcpbridge.sandbox import DENTAL
from tests.conftest import REPO_ROOT, base_env, free_port, run_manage
from tests.signin.conftest import _HIDDEN


# The demo migrates a fresh database before it serves: on a loaded machine that takes a while.
def wait_for(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def csrf_post(browser: httpx.Client, url: str, **data: str) -> httpx.Response:
    return browser.post(url, data={"csrfmiddlewaretoken": browser.cookies["csrftoken"], **data})


def test_the_demo_signs_in_through_the_sandbox_and_receives_its_uninstall(tmp_path) -> None:
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    assert run_manage("migrate", "--noinput", env=env).returncode == 0
    port, sandbox_port = free_port(), free_port()
    site, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
    command = ["manage.py", "ghl_demo", "--port", str(port), "--sandbox-port", str(sandbox_port)]
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(f"{site}/health", process)
        with httpx.Client(timeout=10) as browser:
            assert "Sign in with HighLevel" in browser.get(f"{site}/").text
            consent_url = csrf_post(browser, f"{site}/accounts/highlevel/login/?next=/")
            assert consent_url.headers["location"].startswith(f"{sandbox}/oauth/chooselocation")
            page = browser.get(consent_url.headers["location"])
            form = dict(_HIDDEN.findall(page.text))
            allowed = browser.post(
                f"{sandbox}/oauth/chooselocation",
                data={**form, "location_id": DENTAL, "decision": "allow"},
            )
            landed = browser.get(allowed.headers["location"], follow_redirects=True)
            assert "Connected Bright Smile Dental." in landed.text

            uninstalled = browser.post(f"{sandbox}/sandbox/uninstall", data={"location_id": DENTAL})
            assert "the app answered 200" in uninstalled.text
            home = browser.get(f"{site}/").text
            assert "Uninstalled" in home
            assert "Reconnect HighLevel" in home
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert re.search(r"GHL Agent Hub on http://127\.0\.0\.1:\d+", output)
