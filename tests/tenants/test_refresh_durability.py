"""A refreshed pair outlives the database dropping the connection as GHL answers.

GHL spends the old refresh token the moment it answers a refresh, so the pair in that
answer is the only one left that works: losing it means the tenant must sign in again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError, connection

from tenants import credentials
from tenants.credentials import aget_valid_token, get_tenant_secrets, get_valid_token
from tenants.models import Tenant, TenantSecret
from tests.database_faults import EndsWhenRetried

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="ends the hub's server connections from the server side; set DATABASE_URL",
    ),
]


@pytest.fixture
def expiring(tenant_factory, ghl_token_server) -> Tenant:
    ghl_token_server.state.live_refresh_tokens.add("refresh-0")
    return tenant_factory("acme", access_token="access-0", expires_in=timedelta(minutes=1))


def refreshed_and_stored(tenant: Tenant) -> None:
    secret = TenantSecret.objects.select_related("tenant").get(tenant=tenant)
    assert (secret.access_token, secret.refresh_token, secret.version) == (
        "access-1",
        "refresh-1",
        2,
    )
    assert (secret.refresh_claim, secret.refresh_claimed_at) == ("", None)
    assert secret.tenant.status == Tenant.Status.ACTIVE


def test_the_new_pair_is_stored_on_a_new_connection_when_the_old_one_dies(
    expiring, ghl_token_server, db_connection_killer
):
    killer = db_connection_killer
    ghl_token_server.state.before_answer = killer

    assert get_valid_token(expiring) == "access-1"

    assert killer.ended >= 1
    refreshed_and_stored(expiring)
    # The next refresh spends the new refresh token, which GHL accepts.
    ghl_token_server.state.before_answer = None
    credentials.tenant_token_refresh(tenant=expiring)
    assert get_tenant_secrets(expiring).refresh_token == "refresh-2"


async def test_the_async_refresh_stores_the_new_pair_once_the_database_is_back(
    expiring, ghl_token_server, db_outage
):
    # The database goes away as GHL answers, and comes back when the refresh says it
    # will try storing again.
    handler = EndsWhenRetried(db_outage)
    logging.getLogger(credentials.__name__).addHandler(handler)
    ghl_token_server.state.before_answer = db_outage
    try:
        assert await aget_valid_token(expiring) == "access-1"
    finally:
        logging.getLogger(credentials.__name__).removeHandler(handler)

    assert db_outage.happened
    assert handler.retried >= 1
    await sync_to_async(refreshed_and_stored)(expiring)


def test_a_pair_the_database_would_not_take_is_stored_by_the_next_refresh(
    expiring, ghl_token_server, monkeypatch, db_connection_killer
):
    # The database stays away for every attempt: the caller gets the outage...
    monkeypatch.setattr(credentials, "SETTLE_RETRY_DELAYS", ())
    ghl_token_server.state.before_answer = db_connection_killer
    with pytest.raises(OperationalError):
        get_valid_token(expiring)
    ghl_token_server.state.before_answer = None
    connection.close()  # what the next request does with a connection that failed

    # ...and the next caller stores the pair GHL gave, without spending anything again.
    assert get_valid_token(expiring) == "access-1"

    assert [r["refresh_token"] for r in ghl_token_server.state.refresh_requests] == ["refresh-0"]
    refreshed_and_stored(expiring)
