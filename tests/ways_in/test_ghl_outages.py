"""GHL's token endpoint failing or slow: callers are told the truth, and nobody else waits.

A refresh that fails for a passing reason (5xx, 429, the network) is ``ghl_unavailable``
with a retry hint, never "sign in again"; a refresh that takes GHL's time holds no lock
and no thread another tenant or ``/health`` needs.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.utils import timezone

from mcpbridge.audit import audit_drain
from mcpbridge.sandbox.server import Sandbox
from tenants import credentials, oauth
from tenants.models import Tenant, TenantSecret
from tests.supervisor.test_failures import wait_until
from tests.ways_in.conftest import Api

pytestmark = pytest.mark.django_db(transaction=True)

CALL = "/mcp/{slug}/tool/get_location"


@pytest.fixture(autouse=True)
def hub_is_the_sandboxs_client(settings, bridge: Sandbox, monkeypatch):
    settings.GHL_CLIENT_ID = bridge.state.client_id
    settings.GHL_CLIENT_SECRET = bridge.state.client_secret
    monkeypatch.setattr(oauth, "RETRY_DELAYS", (0.01, 0.01, 0.01))


@sync_to_async
def expire(tenant: Tenant) -> None:
    TenantSecret.objects.filter(tenant=tenant).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )


@sync_to_async
def stored(tenant: Tenant) -> tuple[str, str, int]:
    secret = TenantSecret.objects.select_related("tenant").get(tenant=tenant)
    return secret.tenant.status, secret.refresh_token, secret.version


@sync_to_async
def cooldown_over(tenant: Tenant) -> None:
    TenantSecret.objects.filter(tenant=tenant).update(
        last_error_at=timezone.now() - credentials.REFRESH_FAILURE_COOLDOWN
    )


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_token_endpoint_outage_is_503_ghl_unavailable_not_sign_in_again(
    world, bridge: Sandbox, sockets, status
):
    await expire(world.acme)
    before = await stored(world.acme)
    bridge.fail("/oauth/token", status=status, times=len(oauth.RETRY_DELAYS) + 1)
    api = Api({"Authorization": f"Bearer {world.acme_token}"})

    response = await api.post(CALL.format(slug="acme"), {})

    assert response.status_code == 503, response.content
    body = response.json()
    assert body["code"] == "ghl_unavailable"
    assert "sign" not in body["message"].lower()
    assert response["Retry-After"] == str(body["retry_after"])
    assert 1 <= body["retry_after"] <= credentials.REFRESH_FAILURE_COOLDOWN.total_seconds()
    # The tenant keeps its standing and its tokens: nothing needs a person.
    assert await stored(world.acme) == before
    # The socket says the same, without asking GHL again so soon.
    asked = bridge.state.token_requests["refresh_token"]
    socket = await sockets("acme", user=world.member)
    await socket.open()
    await socket.send({"type": "tools.call", "id": "c", "name": "get_location"})
    event = await socket.final("c")
    assert (event["type"], event["code"]) == ("tool.error", "ghl_unavailable")
    assert event["retry_after"] >= 1
    assert bridge.state.token_requests["refresh_token"] == asked
    await socket.close()

    # GHL is back: once the pause after the failure is over, the same call goes through.
    await audit_drain()  # the audit log's writes done first (one writer at a time on SQLite)
    await cooldown_over(world.acme)
    response = await api.post(CALL.format(slug="acme"), {})
    assert response.status_code == 200, response.content
    status_now, refresh_token, version = await stored(world.acme)
    assert (status_now, version) == (Tenant.Status.ACTIVE, before[2] + 1)
    assert refresh_token != before[1]


async def test_only_a_refused_refresh_token_asks_for_a_new_sign_in(world, bridge: Sandbox):
    await expire(world.acme)
    _status, refresh_token, _version = await stored(world.acme)
    with bridge.state.lock:
        bridge.state.refresh_tokens[refresh_token].used = True

    response = await Api({"Authorization": f"Bearer {world.acme_token}"}).post(
        CALL.format(slug="acme"), {}
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "tenant_unavailable"
    assert (await stored(world.acme))[0] == Tenant.Status.NEEDS_REAUTH


@sync_to_async(thread_sensitive=False)
def row_lock_free(tenant: Tenant) -> bool:
    """Whether another connection can lock the tenant's secret row right now."""
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]
    ) as other:
        try:
            other.execute(
                "SELECT id FROM tenants_tenantsecret WHERE tenant_id = %s FOR UPDATE NOWAIT",
                [tenant.pk],
            )
        except psycopg.errors.LockNotAvailable:
            return False
        return True


async def test_a_slow_token_refresh_stalls_neither_other_tenants_nor_health(world, bridge: Sandbox):
    await expire(world.acme)
    gate = threading.Event()
    held = bridge.hold("/oauth/token", gate)
    acme = Api({"Authorization": f"Bearer {world.acme_token}"})
    acme_call = asyncio.ensure_future(acme.post(CALL.format(slug="acme"), {}))
    try:
        assert await wait_until(lambda: held.remaining == 0, within=30)  # reached GHL

        # While GHL keeps acme's refresh waiting, another tenant is served...
        globex = Api({"Authorization": f"Bearer {world.globex_token}"})
        response = await globex.post(CALL.format(slug="globex"), {})
        assert response.status_code == 200, response.content
        # ...the worker reports healthy...
        health = await Api().get("/health")
        assert health.status_code == 200, health.content
        # ...and the refresh holds no lock on acme's row (PostgreSQL: row locks).
        if connection.vendor == "postgresql":
            assert await row_lock_free(world.acme)
        assert not acme_call.done()
    finally:
        gate.set()

    response = await acme_call
    assert response.status_code == 200, response.content
    assert bridge.state.token_requests["refresh_token"] == 1
