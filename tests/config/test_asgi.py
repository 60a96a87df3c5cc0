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


@pytest.mark.parametrize("path", ["/ws/x/", "/ws/tenants/", "/ws/tenants/a b/", "/"])
async def test_a_socket_on_a_path_the_hub_does_not_serve_is_closed_with_4404(path):
    communicator = WebsocketCommunicator(application, path)
    connected, code = await communicator.connect()
    assert (connected, code) == (True, None)
    assert await communicator.receive_output(10) == {"type": "websocket.close", "code": 4404}


async def handshake(headers: dict[str, str]) -> bool:
    """Whether the socket gets past the origin check (it may still be closed for no caller)."""
    communicator = WebsocketCommunicator(
        application,
        "/ws/tenants/acme/",
        headers=[(k.lower().encode(), v.encode()) for k, v in headers.items()],
    )
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.fixture
def production_site(settings):
    settings.SITE_URL = "https://hub.example.com"
    settings.ALLOWED_HOSTS = ["hub.example.com", ".agency.example"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://hub.example.com", "https://*.agency.example"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


BEHIND_TLS = {"Host": "hub.example.com", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(
    "origin",
    [
        "https://hub.example.com",
        "https://hub.example.com:443",
        "HTTPS://Hub.Example.com",
        "https://crm.agency.example",
    ],
)
async def test_the_sites_own_origins_may_open_a_socket(production_site, origin):
    assert await handshake({**BEHIND_TLS, "Origin": origin})


@pytest.mark.parametrize(
    "origin",
    [
        "http://hub.example.com",  # the site is https: a page over http is not it
        "https://hub.example.com:8443",
        "https://hub.example.com.evil.example",
        "https://evil.example",
        "http://crm.agency.example",
        "null",
        "hub.example.com",
    ],
)
async def test_an_origin_differing_in_scheme_host_or_port_is_refused(production_site, origin):
    assert not await handshake({**BEHIND_TLS, "Origin": origin})


async def test_the_pages_own_origin_counts_with_the_scheme_the_proxy_reports(
    production_site, settings
):
    page = {"Host": "other.agency.example", "Origin": "https://other.agency.example"}
    settings.CSRF_TRUSTED_ORIGINS = []
    assert await handshake({**page, "X-Forwarded-Proto": "https"})
    assert not await handshake(page)  # without the proxy's word the socket is http
    assert not await handshake({**page, "Host": "unlisted.example"})


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
