from __future__ import annotations

import pytest
from channels.testing import HttpCommunicator, WebsocketCommunicator

from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def test_http_is_routed_to_django():
    communicator = HttpCommunicator(
        application, "GET", "/health", headers=[(b"host", b"localhost")]
    )
    response = await communicator.get_response()
    assert response["status"] == 200
    assert b'"status": "ok"' in response["body"]


async def test_a_websocket_from_a_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(
        application, "/ws/tenants/acme/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert connected is False


async def test_metrics_are_exposed_in_prometheus_format(async_client):
    await async_client.get("/health")
    response = await async_client.get("/metrics")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content


async def test_metrics_require_the_token_when_one_is_configured(async_client, settings):
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    assert (await async_client.get("/metrics")).status_code == 401
    response = await async_client.get(
        "/metrics", headers={"Authorization": "Bearer metrics-token-for-tests"}
    )
    assert response.status_code == 200


async def test_production_metrics_answer_nobody_without_a_token(async_client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_PUBLIC = False
    response = await async_client.get("/metrics")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert b"django_http" not in response.content


async def test_metrics_series_carry_the_worker_label(async_client):
    from mcpbridge.supervisor.metrics import WORKER

    body = (await async_client.get("/metrics")).content.decode()
    assert f'mcp_children_active{{worker="{WORKER}"}}' in body
    assert f'mcp_rate_limit_refusals_total{{worker="{WORKER}"}}' in body


def test_the_admin_login_page_renders(client):
    response = client.get("/admin/login/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert b"password" in response.content
