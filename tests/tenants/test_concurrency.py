from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from tenants.credentials import get_tenant_secrets, get_valid_token, upsert_credentials
from tenants.models import Tenant

CALLERS = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks (SELECT ... FOR UPDATE) need PostgreSQL; set DATABASE_URL",
    ),
]


def test_it_refreshes_once_under_concurrency(tenant_factory, ghl_token_server):
    state = ghl_token_server.state
    state.live_refresh_tokens.add("refresh-0")
    # Slow enough that every caller arrives while the first refresh is in flight.
    state.delay = 0.2
    tenant = tenant_factory("acme", access_token="access-0", expires_in=timedelta(minutes=1))
    start = threading.Barrier(CALLERS)

    def call() -> str:
        try:
            start.wait(timeout=10)
            return get_valid_token(Tenant.objects.get(pk=tenant.pk))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        tokens = list(pool.map(lambda _: call(), range(CALLERS)))

    assert tokens == ["access-1"] * CALLERS
    assert [r["refresh_token"] for r in state.refresh_requests] == ["refresh-0"]
    secrets = get_tenant_secrets(tenant)
    assert (secrets.access_token, secrets.refresh_token, secrets.version) == (
        "access-1",
        "refresh-1",
        2,
    )
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE


def test_simultaneous_pushes_for_a_new_tenant_create_it_once_and_all_succeed():
    start = threading.Barrier(CALLERS)

    def push(n: int) -> bool:
        try:
            start.wait(timeout=10)
            _tenant, created = upsert_credentials(
                {"tenantId": "acme", "locationId": "loc-acme", "accessToken": f"access-{n}"}
            )
            return created
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        created = list(pool.map(push, range(CALLERS)))

    assert created.count(True) == 1
    tenant = Tenant.objects.get(slug="acme")
    assert get_tenant_secrets(tenant).version == CALLERS
