"""An agency signs in: it picks sub-accounts, each connected with its own location token."""

from __future__ import annotations

import base64
import json

import pytest
from django.contrib.auth import get_user_model

from mcpbridge.sandbox import ANA, COMPANY_ID, DENTAL, ROOFING
from tenants import crypto
from tenants.credentials import get_valid_token, tenant_token_refresh
from tenants.highlevel.agency import SESSION_KEY
from tenants.models import Membership, Tenant, TenantSecret
from tests.signin.conftest import BROWSER, authorisation_start, callback_path

pytestmark = pytest.mark.django_db


def agency_sign_in(client):
    """On GHL's screen the user picks the agency itself instead of a sub-account."""
    authorisation = authorisation_start(client)
    answer = BROWSER.get(authorisation.url + f"&user_type=Company&user_id={ANA}")
    assert answer.status_code == 302
    return client.get(callback_path(answer.headers["location"]))


def test_an_agency_sign_in_asks_which_sub_accounts_to_connect(client, highlevel) -> None:
    response = agency_sign_in(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/highlevel/agency/"
    page = client.get("/accounts/highlevel/agency/").content.decode()
    assert DENTAL in page
    assert ROOFING in page
    assert not Tenant.objects.exists()
    assert get_user_model().objects.get().socialaccount_set.get().extra_data["userType"] == (
        "Company"
    )


def test_the_agency_token_is_kept_only_encrypted_in_the_session(client, highlevel) -> None:
    agency_sign_in(client)
    kept = client.session[SESSION_KEY]
    opened = json.loads(crypto.decrypt(base64.b64decode(kept["sealed"])))
    assert set(kept) == {"sealed", "until", "user"}
    assert opened["user_type"] == "Company"
    assert opened["access_token"] not in str(dict(client.session))


def test_picked_sub_accounts_are_connected_with_location_tokens(client, highlevel) -> None:
    agency_sign_in(client)

    response = client.post("/accounts/highlevel/agency/", {"location": [DENTAL, ROOFING]})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    user = get_user_model().objects.get()
    for location_id in (DENTAL, ROOFING):
        tenant = Tenant.objects.get(location_id=location_id)
        secret = tenant.secret
        assert (tenant.company_id, secret.user_type, secret.user_id) == (
            COMPANY_ID,
            "Location",
            ANA,
        )
        assert secret.refresh_token
        assert Membership.objects.get(tenant=tenant).user == user
        assert Membership.objects.get(tenant=tenant).role == Membership.Role.OWNER
    assert SESSION_KEY not in client.session
    page = client.get("/").content.decode()
    assert "Connected Bright Smile Dental." in page
    assert "Connected Summit Roofing." in page


def test_a_sub_account_connected_through_the_agency_refreshes(client, highlevel) -> None:
    agency_sign_in(client)
    client.post("/accounts/highlevel/agency/", {"location": [ROOFING]})
    tenant = Tenant.objects.get()
    before = tenant.secret.access_token

    tenant_token_refresh(tenant=tenant)

    assert get_valid_token(tenant) != before
    assert TenantSecret.objects.get().version == 2


def test_an_agency_with_a_single_sub_account_is_connected_at_once(client, highlevel) -> None:
    with highlevel.state.lock:
        highlevel.data["locations"].pop(ROOFING)

    response = agency_sign_in(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert list(Tenant.objects.values_list("location_id", flat=True)) == [DENTAL]


def test_an_agency_that_shared_no_sub_account_is_told_what_to_do(client, highlevel) -> None:
    with highlevel.state.lock:
        highlevel.data["locations"].clear()

    response = agency_sign_in(client)

    assert response.status_code == 400
    assert "Install the app in a sub-account" in response.content.decode()
    assert not get_user_model().objects.exists()


def test_the_picker_refuses_a_sub_account_it_did_not_offer(client, highlevel) -> None:
    agency_sign_in(client)
    response = client.post("/accounts/highlevel/agency/", {"location": ["loc_someone_else"]})
    assert response.status_code == 400
    assert "Choose one or more" in response.content.decode()
    assert not Tenant.objects.exists()


def test_the_picker_needs_a_choice(client, highlevel) -> None:
    agency_sign_in(client)
    response = client.post("/accounts/highlevel/agency/", {})
    assert response.status_code == 400


def test_the_picker_expires(client, highlevel) -> None:
    agency_sign_in(client)
    session = client.session
    session[SESSION_KEY]["until"] = 0
    session.save()

    response = client.post("/accounts/highlevel/agency/", {"location": [DENTAL]})

    assert response.status_code == 400
    assert "has expired or was already used" in response.content.decode()
    assert not Tenant.objects.exists()


def test_the_picker_belongs_to_the_user_who_signed_in(client, highlevel, django_user_model) -> None:
    agency_sign_in(client)
    sealed = client.session[SESSION_KEY]
    other = django_user_model.objects.create_user(username="mallory", password="pw")
    client.force_login(other)
    session = client.session
    session[SESSION_KEY] = sealed
    session.save()

    response = client.get("/accounts/highlevel/agency/")

    assert response.status_code == 400


def test_the_picker_needs_a_signed_in_user(client, highlevel) -> None:
    response = client.get("/accounts/highlevel/agency/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")
