"""The tenant settings page: connection, members and tokens, for each persona."""

from __future__ import annotations

import pytest

from tenants.access import api_token_create
from tenants.models import Tenant, TenantSecret

pytestmark = pytest.mark.django_db

PAGE = "/tenants/acme/settings/"


def test_a_member_sees_the_connection_the_members_and_the_tokens(client, personas):
    api_token_create(tenant=personas.tenant, name="go-live", created_by=personas.owner)
    client.force_login(personas.member)
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Active: Connected." in html
    for name in ("alice", "bob", "vera"):
        assert name in html
    assert "charlie" not in html
    assert "1 active token." in html
    assert "See API tokens" in html
    secret = TenantSecret.objects.get(tenant=personas.tenant)
    assert secret.access_token not in html
    assert secret.refresh_token not in html


def test_the_owner_is_offered_to_manage_tokens(client, personas):
    client.force_login(personas.owner)
    assert "Manage API tokens" in client.get(PAGE).content.decode()


def test_a_tenant_that_needs_reconnecting_offers_it_first(client, personas):
    Tenant.objects.filter(pk=personas.tenant.pk).update(
        status=Tenant.Status.NEEDS_REAUTH, status_reason="HighLevel refused the refresh."
    )
    client.force_login(personas.viewer)
    html = client.get(PAGE).content.decode()
    assert "HighLevel refused the refresh." in html
    assert '<button type="submit">Reconnect HighLevel</button>' in html
    assert "next=/tenants/acme/settings/" in html


def test_an_outsider_gets_404_and_a_visitor_signs_in(client, personas):
    client.force_login(personas.outsider)
    assert client.get(PAGE).status_code == 404
    client.logout()
    assert client.get(PAGE).status_code == 302
