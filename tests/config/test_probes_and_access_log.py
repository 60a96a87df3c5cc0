from __future__ import annotations

import json

import httpx
import pytest
from channels.testing import WebsocketCommunicator

# Imported here, not in a test: loading the ASGI app configures logging, which would
# remove the capturing handler of the test that first imported it.
from config.asgi import application
from tests.config.test_settings import PRODUCTION_ENV
from tests.conftest import ANSWER_WITHIN


@pytest.fixture
def production_server(daphne_server, tmp_path):
    def start(**env: str):
        return daphne_server(
            **PRODUCTION_ENV,
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            STATIC_ROOT=str(tmp_path / "static"),
            **env,
        )

    return start


def test_health_answers_a_probe_by_ip_in_production_without_an_error_line(production_server):
    server = production_server(LOG_LEVEL="DEBUG")
    response = server.get("/health", headers={"Host": "10.1.2.3:8000"})
    assert response.status_code in {200, 503}  # no migrations here: 200 or a failing check
    assert set(response.json()["checks"]) == {"database", "cache", "channel_layer"}
    livez = server.get("/livez", headers={"Host": "10.1.2.3"})
    assert livez.status_code == 200
    assert livez.json() == {"status": "ok"}
    log = server.wait_for_log("GET /livez")
    assert " ERROR " not in log
    assert "DisallowedHost" not in log


def test_prometheus_scrapes_a_replica_by_its_address_with_the_token(production_server):
    server = production_server(METRICS_TOKEN="metrics-token-0123456789")
    refused = server.get("/metrics", headers={"Host": "172.18.0.5:8000"})
    assert refused.status_code == 401
    scraped = server.get(
        "/metrics",
        headers={"Host": "172.18.0.5:8000", "Authorization": "Bearer metrics-token-0123456789"},
    )
    assert scraped.status_code == 200
    assert "mcp_tool_calls_total" in scraped.text


def test_other_paths_still_refuse_a_host_that_is_not_allowed(production_server):
    server = production_server()
    response = server.get("/accounts/login/", headers={"Host": "10.1.2.3"})
    assert response.status_code == 400


def test_json_logs_are_one_object_per_line_with_request_id_and_redacted_query(production_server):
    server = production_server(LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    response = server.get(
        "/accounts/highlevel/login/callback/?code=oauth-code-0123&state=state-4567&x=1",
        headers={"Host": "hub.example.com", "X-Request-ID": "edge-42"},
    )
    assert response.headers["X-Request-ID"] == "edge-42"
    server.get("/chat?token=link-token-89ab", headers={"Host": "hub.example.com"})
    log = server.wait_for_log("/chat?token=")
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    access = [entry for entry in entries if entry["logger"] == "access"]
    callback = next(entry for entry in access if entry["request_id"] == "edge-42")
    assert callback["path"] == (
        "/accounts/highlevel/login/callback/?code=[redacted]&state=[redacted]&x=1"
    )
    assert {"time", "level", "logger", "message", "tenant", "status"} <= set(callback)
    for secret in ("oauth-code-0123", "state-4567", "link-token-89ab"):
        assert secret not in log


def test_a_fresh_request_id_replaces_a_missing_or_unsafe_one(production_server):
    server = production_server()
    first = server.get("/livez")
    unsafe = server.get("/livez", headers={"X-Request-ID": "two words\tand a tab"})
    assert len(first.headers["X-Request-ID"]) == 32
    assert unsafe.headers["X-Request-ID"] != "two words\tand a tab"


def test_text_access_log_redacts_the_oauth_code_too(production_server):
    server = production_server()
    httpx.get(
        f"{server.url}/accounts/highlevel/login/callback/?code=oauth-code-0123&state=s-98765",
        headers={"Host": "hub.example.com"},
        timeout=ANSWER_WITHIN,
    )
    log = server.wait_for_log("/accounts/highlevel/login/callback/")
    assert "code=[redacted]&state=[redacted]" in log
    assert "oauth-code-0123" not in log
    assert "s-98765" not in log


async def test_a_websocket_gets_one_access_line_with_its_tenant_and_redacted_query(caplog):
    communicator = WebsocketCommunicator(application, "/ws/tenants/acme/?token=ws-secret-0123")
    connected, _ = await communicator.connect()
    assert connected  # accepted, then closed with 4401: no credentials
    assert (await communicator.receive_output())["code"] == 4401
    await communicator.wait()
    lines = [r for r in caplog.records if r.name == "access"]
    assert len(lines) == 1
    assert (lines[0].method, lines[0].status, lines[0].tenant) == ("WEBSOCKET", 101, "acme")
    assert lines[0].path == "/ws/tenants/acme/?token=[redacted]"
    assert "ws-secret-0123" not in caplog.text
