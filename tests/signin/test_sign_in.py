"""Signing in with HighLevel, end to end against the sandbox over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib.auth import get_user_model
from django.db import connection

from mcpbridge.ghl.catalogue import catalogue_load
from mcpbridge.ghl.core import core_tools
from mcpbridge.sandbox import ANA, BEN, COMPANY_ID, DENTAL, ROOFING, Sandbox
from tenants.models import Membership, Tenant, TenantSecret
from tests.signin.conftest import authorisation_start, consent

pytestmark = pytest.mark.django_db(transaction=True)


def api_get(sandbox: Sandbox, path: str, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    return httpx.get(f"{sandbox.url}{path}", headers=headers, timeout=10)


def test_signing_in_sends_the_user_to_the_marketplace_with_state_scopes_and_callback(
    client, highlevel, settings
) -> None:
    authorisation = authorisation_start(client)
    assert authorisation.url.startswith(f"{highlevel.url}/oauth/chooselocation?")
    assert authorisation.params["client_id"] == highlevel.state.client_id
    assert authorisation.params["response_type"] == "code"
    assert authorisation.params["redirect_uri"] == (
        "http://testserver/accounts/highlevel/login/callback/"
    )
    assert set(authorisation.params["scope"].split()) == set(settings.GHL_OAUTH_SCOPES)
    assert len(authorisation.params["state"]) >= 12


def test_the_white_label_marketplace_host_is_used_when_configured(
    client, highlevel, settings
) -> None:
    settings.GHL_MARKETPLACE_URL = "https://marketplace.leadconnectorhq.com"
    authorisation = authorisation_start(client)
    assert authorisation.url.startswith(
        "https://marketplace.leadconnectorhq.com/oauth/chooselocation?"
    )


def test_a_first_sign_in_creates_the_user_tenant_owner_and_encrypted_secret(
    client, highlevel, sign_in, changes
) -> None:
    response = sign_in(client, location_id=DENTAL, user_id=BEN)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    user = get_user_model().objects.get()
    assert (user.email, user.first_name, user.last_name) == (
        "ben@sandbox-agency.example.com",
        "Ben",
        "Front-desk",
    )
    assert not user.has_usable_password()
    tenant = Tenant.objects.get()
    assert (tenant.location_id, tenant.company_id, tenant.name, tenant.status) == (
        DENTAL,
        COMPANY_ID,
        "Bright Smile Dental",
        Tenant.Status.ACTIVE,
    )
    membership = Membership.objects.get()
    assert (membership.user, membership.tenant, membership.role) == (
        user,
        tenant,
        Membership.Role.OWNER,
    )
    secret = TenantSecret.objects.get()
    assert (secret.user_id, secret.user_type, secret.version) == (BEN, "Location", 1)
    assert 86_000 < (secret.expires_at - secret.created_at).total_seconds() <= 86_400
    assert secret.refresh_token
    assert api_get(highlevel, f"/locations/{DENTAL}", secret.access_token).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM tenants_tenantsecret")
        stored = " ".join(str(bytes(value)) for value in cursor.fetchone())
    assert secret.access_token not in stored
    assert secret.refresh_token not in stored
    assert changes == [
        {
            "tenant_id": tenant.pk,
            "tenant_slug": tenant.slug,
            "version": 1,
            "reason": "login",
            "revoke": False,
        }
    ]


def test_the_sign_in_keeps_no_token_outside_the_tenant_secret(client, highlevel, sign_in) -> None:
    sign_in(client)
    secret = TenantSecret.objects.get()
    account = SocialAccount.objects.get()
    assert account.uid == BEN
    assert account.extra_data["locationId"] == DENTAL
    assert account.extra_data["userType"] == "Location"
    kept = str(account.extra_data) + str(dict(client.session))
    assert secret.access_token not in kept
    assert secret.refresh_token not in kept
    assert not SocialToken.objects.exists()


def test_the_user_lands_on_the_home_page_connected(client, highlevel, sign_in) -> None:
    sign_in(client)
    page = client.get("/")
    text = page.content.decode()
    assert "Connected Bright Smile Dental." in text
    assert "Bright Smile Dental" in text
    assert "Reconnect HighLevel" not in text


def test_a_second_sign_in_updates_rather_than_duplicates(
    client, highlevel, sign_in, changes
) -> None:
    sign_in(client)
    first_token = TenantSecret.objects.get().access_token
    client.logout()

    sign_in(client)

    secret = TenantSecret.objects.get()
    assert get_user_model().objects.count() == 1
    assert SocialAccount.objects.count() == 1
    assert Tenant.objects.count() == 1
    assert Membership.objects.get().role == Membership.Role.OWNER
    assert secret.version == 2
    assert secret.access_token != first_token
    assert [change["reason"] for change in changes] == ["login", "login"]


def test_a_second_user_of_the_same_location_becomes_a_member(client, highlevel, sign_in) -> None:
    sign_in(client, location_id=DENTAL, user_id=ANA)
    client.logout()
    sign_in(client, location_id=DENTAL, user_id=BEN)

    roles = {m.user.username: m.role for m in Membership.objects.select_related("user")}
    assert sorted(roles.values()) == [Membership.Role.MEMBER, Membership.Role.OWNER]
    ana = SocialAccount.objects.get(uid=ANA).user
    assert Membership.objects.get(user=ana).role == Membership.Role.OWNER
    assert Tenant.objects.count() == 1


def test_one_user_can_connect_two_locations(client, highlevel, sign_in) -> None:
    sign_in(client, location_id=DENTAL, user_id=ANA)
    sign_in(client, location_id=ROOFING, user_id=ANA)

    user = get_user_model().objects.get()
    assert sorted(user.tenants.values_list("location_id", flat=True)) == [DENTAL, ROOFING]
    page = client.get("/").content.decode()
    assert "Bright Smile Dental" in page
    assert "Summit Roofing" in page


def test_without_the_users_scope_the_sign_in_goes_on_without_name_and_email(
    client, highlevel, sign_in, settings
) -> None:
    settings.SOCIALACCOUNT_PROVIDERS["highlevel"]["SCOPE"] = ["contacts.readonly"]

    response = sign_in(client)

    assert response.status_code == 302
    user = get_user_model().objects.get()
    assert user.email == ""
    assert Tenant.objects.get().name == ""
    assert TenantSecret.objects.get().scopes == "contacts.readonly"
    assert highlevel.requests(path=f"/users/{BEN}") == []


def test_a_local_account_with_the_same_email_is_not_taken_over(
    client, highlevel, sign_in, django_user_model
) -> None:
    staff = django_user_model.objects.create_user(
        username="sam", email="ben@sandbox-agency.example.com", password="pw", is_staff=True
    )

    sign_in(client)

    account = SocialAccount.objects.get()
    assert account.user != staff
    assert not Membership.objects.filter(user=staff).exists()
    assert client.session["_auth_user_id"] == str(account.user.pk)


def test_local_signup_stays_closed(client, highlevel) -> None:
    page = client.get("/accounts/signup/")
    assert "Sign Up Closed" in page.content.decode()


def test_an_inactive_user_gets_no_tokens_stored(client, highlevel, sign_in) -> None:
    sign_in(client)
    user = get_user_model().objects.get()
    user.is_active = False
    user.save()
    TenantSecret.objects.all().delete()
    client.logout()

    sign_in(client)

    assert not TenantSecret.objects.exists()
    assert "_auth_user_id" not in client.session


def test_the_consent_page_is_served_by_the_sandbox_not_the_app(client, highlevel) -> None:
    authorisation = authorisation_start(client)
    callback = consent(authorisation)
    assert callback.startswith("/accounts/highlevel/login/callback/?code=")


def test_the_default_scopes_let_every_core_tool_reach_ghl(settings) -> None:
    catalogue = catalogue_load()
    asked = set(settings.GHL_OAUTH_SCOPES)
    # The spec names no scope for setting a custom value; GHL wants this one.
    needed = {"update_custom_value": ("locations/customValues.write",)}
    short = {
        tool.name: scopes
        for tool in core_tools()
        if (scopes := needed.get(tool.name) or catalogue.get(tool.operation).scopes)
        and not asked & set(scopes)
    }
    assert short == {}
