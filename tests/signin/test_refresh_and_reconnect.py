"""Refreshes write back; a tenant GHL no longer accepts shows "Reconnect", which restores it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from mcpbridge.sandbox import ANA, BEN, DENTAL, ROOFING, Sandbox
from tenants.credentials import TenantNeedsReauthError, get_valid_token
from tenants.models import Tenant, TenantSecret

pytestmark = pytest.mark.django_db(transaction=True)


def api_status(sandbox: Sandbox, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    return httpx.get(f"{sandbox.url}/locations/{DENTAL}", headers=headers, timeout=10).status_code


def expire(tenant: Tenant) -> None:
    TenantSecret.objects.filter(tenant=tenant).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def spend_refresh_token(sandbox: Sandbox, refresh_token: str) -> None:
    """Another holder of the same refresh token uses it first (GHL's are single-use)."""
    answer = httpx.post(
        f"{sandbox.url}/oauth/token",
        data={
            "client_id": sandbox.state.client_id,
            "client_secret": sandbox.state.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
        timeout=10,
    )
    assert answer.status_code == 200


def test_a_refresh_after_expiry_writes_the_new_tokens_back(
    client, highlevel, sign_in, changes
) -> None:
    sign_in(client)
    tenant = Tenant.objects.get()
    old = TenantSecret.objects.get()
    highlevel.advance(86_400)
    expire(tenant)
    assert api_status(highlevel, old.access_token) == 401

    token = get_valid_token(tenant)

    stored = TenantSecret.objects.get()
    assert token == stored.access_token != old.access_token
    assert stored.refresh_token != old.refresh_token
    assert stored.version == old.version + 1
    assert stored.expires_at > timezone.now() + timedelta(hours=23)
    assert api_status(highlevel, token) == 200
    assert highlevel.token_requests["refresh_token"] == 1
    assert [change["reason"] for change in changes] == ["login", "refresh"]


def test_a_reused_refresh_token_puts_the_tenant_in_needs_reauth_with_a_reconnect_action(
    client, highlevel, sign_in
) -> None:
    sign_in(client)
    tenant = Tenant.objects.get()
    spend_refresh_token(highlevel, TenantSecret.objects.get().refresh_token)
    expire(tenant)

    with pytest.raises(TenantNeedsReauthError):
        get_valid_token(tenant)

    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.NEEDS_REAUTH
    assert highlevel.state.token_failures["refresh_token"] == 1
    page = client.get("/").content.decode()
    assert "Needs re-authorisation" in page
    assert "GHL rejected the refresh token" in page
    assert "Reconnect HighLevel" in page
    assert 'action="/accounts/highlevel/login/?next=/"' in page


def test_reconnecting_returns_the_tenant_to_active(client, highlevel, sign_in, changes) -> None:
    sign_in(client)
    tenant = Tenant.objects.get()
    spend_refresh_token(highlevel, TenantSecret.objects.get().refresh_token)
    expire(tenant)
    with pytest.raises(TenantNeedsReauthError):
        get_valid_token(tenant)

    response = sign_in(client)

    tenant.refresh_from_db()
    assert response.status_code == 302
    assert tenant.status == Tenant.Status.ACTIVE
    assert tenant.status_reason == ""
    assert api_status(highlevel, get_valid_token(tenant)) == 200
    page = client.get("/").content.decode()
    assert "Reconnect HighLevel" not in page
    assert changes[-1]["reason"] == "login"


@pytest.fixture
def three_personas(highlevel, sign_in) -> dict[str, Client]:
    """Ana owns Dental (first to sign in), Ben is a member, Carol only knows Roofing."""
    clients = {name: Client() for name in ("owner", "member", "outsider")}
    sign_in(clients["owner"], location_id=DENTAL, user_id=ANA)
    sign_in(clients["member"], location_id=DENTAL, user_id=BEN)
    with highlevel.state.lock:
        highlevel.data["users"]["usr_carol"] = {
            **highlevel.data["users"][ANA],
            "id": "usr_carol",
            "name": "Carol Other",
            "email": "carol@elsewhere.example.com",
            "roles": {"type": "account", "role": "admin", "locationIds": [ROOFING]},
        }
    sign_in(clients["outsider"], location_id=ROOFING, user_id="usr_carol")
    return clients


def test_the_home_page_shows_each_persona_only_their_tenants(three_personas) -> None:
    owner = three_personas["owner"].get("/").content.decode()
    member = three_personas["member"].get("/").content.decode()
    outsider = three_personas["outsider"].get("/").content.decode()
    assert "Bright Smile Dental" in owner
    assert "Owner" in owner
    assert "Bright Smile Dental" in member
    assert "Member" in member
    assert "Bright Smile Dental" not in outsider
    assert "Summit Roofing" in outsider
    assert "Summit Roofing" not in owner


def test_every_member_sees_the_reconnect_action_of_a_tenant_needing_it(
    three_personas,
) -> None:
    dental = Tenant.objects.get(location_id=DENTAL)
    dental.status = Tenant.Status.NEEDS_REAUTH
    dental.status_reason = "GHL rejected the refresh token."
    dental.save()
    assert "Reconnect HighLevel" in three_personas["owner"].get("/").content.decode()
    assert "Reconnect HighLevel" in three_personas["member"].get("/").content.decode()
    assert "Reconnect HighLevel" not in three_personas["outsider"].get("/").content.decode()


def test_a_disabled_tenant_is_shown_without_a_reconnect_action(client, highlevel, sign_in) -> None:
    sign_in(client)
    Tenant.objects.update(status=Tenant.Status.DISABLED)
    page = client.get("/").content.decode()
    assert "Disabled by an administrator." in page
    assert "Reconnect HighLevel" not in page


def test_signing_in_again_does_not_re_enable_a_disabled_tenant(client, highlevel, sign_in) -> None:
    sign_in(client)
    Tenant.objects.update(status=Tenant.Status.DISABLED)
    sign_in(client)
    assert Tenant.objects.get().status == Tenant.Status.DISABLED
