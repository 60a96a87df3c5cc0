"""``scripts/smoke.sh`` against a live daphne wired to the GHL sandbox; workers share budgets."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from mcpbridge.sandbox import DENTAL, Sandbox
from tests.conftest import REPO_ROOT, base_env, run_manage

ADMIN_TOKEN = "admin-token-for-the-smoke-test-0123456789"
SCRIPT = REPO_ROOT / "scripts" / "smoke.sh"


@pytest.fixture
def server_env(tmp_path: Path, ghl_sandbox: Sandbox) -> dict[str, str]:
    """A migrated SQLite file and the settings a deployment would have."""
    env = base_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        ADMIN_API_TOKEN=ADMIN_TOKEN,
        GHL_BASE_URL=ghl_sandbox.url,
        MCP_RUN_DIR=str(tmp_path / "run"),
    )
    migrated = run_manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    return env


def push_credentials(url: str, sandbox: Sandbox, slug: str = "demo") -> None:
    body = {"tenantId": slug, "accessToken": sandbox.mint_token(DENTAL), "locationId": DENTAL}
    response = httpx.post(
        f"{url}/api/tenant/credentials",
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=15,
    )
    assert response.status_code in (200, 201), response.text


def create_token(env: dict[str, str], slug: str = "demo") -> str:
    made = run_manage("create_api_token", slug, "smoke", env=env)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def smoke(url: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), url],
        env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_smoke_script_passes_against_a_live_daphne(server_env, daphne_server, ghl_sandbox):
    server = daphne_server(**{k: v for k, v in server_env.items() if k not in base_env()})
    # The tenant exists (signed in, or pushed before) and an owner made it a token.
    push_credentials(server.url, ghl_sandbox)
    token = create_token(server_env)
    fresh = ghl_sandbox.mint_token(DENTAL)
    run = smoke(
        server.url,
        ADMIN_API_TOKEN=ADMIN_TOKEN,
        TENANT_API_TOKEN=token,
        GHL_ACCESS_TOKEN=fresh,
        GHL_LOCATION_ID=DENTAL,
    )
    assert run.returncode == 0, run.stderr
    assert "== OK" in run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    contacts = json.loads(result["content"][0]["text"])["contacts"]
    assert {row["locationId"] for row in contacts} == {DENTAL}
    # The call went out on the credentials the script pushed.
    assert any(r.path == "/contacts/search" for r in ghl_sandbox.requests())
    assert fresh not in run.stdout + run.stderr
    assert token not in run.stdout + run.stderr


def test_the_smoke_script_fails_on_a_wrong_tenant_token(server_env, daphne_server, ghl_sandbox):
    server = daphne_server(**{k: v for k, v in server_env.items() if k not in base_env()})
    run = smoke(
        server.url,
        ADMIN_API_TOKEN=ADMIN_TOKEN,
        TENANT_API_TOKEN="ghlhub_not-a-token",
        GHL_ACCESS_TOKEN=ghl_sandbox.mint_token(DENTAL),
        GHL_LOCATION_ID=DENTAL,
    )
    assert run.returncode != 0
    assert "401" in run.stderr
    assert "== OK" not in run.stderr


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis (REDIS_URL)")
def test_two_workers_share_one_tenant_budget(server_env, daphne_server, ghl_sandbox):
    shared = {k: v for k, v in server_env.items() if k not in base_env() and k != "MCP_RUN_DIR"} | {
        "REDIS_URL": os.environ["REDIS_URL"],
        "CACHE_KEY_PREFIX": f"smoke-{uuid.uuid4().hex}",
        # A day-long window: these servers' clocks cannot be held still, and a minute's
        # window could roll over between the calls.
        "TENANT_RATE_LIMIT": "3/d",
    }
    first = daphne_server(**shared, MCP_RUN_DIR=server_env["MCP_RUN_DIR"] + "-1")
    second = daphne_server(**shared, MCP_RUN_DIR=server_env["MCP_RUN_DIR"] + "-2")
    push_credentials(first.url, ghl_sandbox)
    headers = {"Authorization": f"Bearer {create_token(server_env)}"}

    def call(url: str) -> httpx.Response:
        return httpx.post(f"{url}/mcp/demo/tool/get_location", headers=headers, timeout=30)

    assert [call(first.url).status_code, call(second.url).status_code] == [200, 200]
    assert call(first.url).headers["RateLimit-Remaining"] == "0"
    limited = call(second.url)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
