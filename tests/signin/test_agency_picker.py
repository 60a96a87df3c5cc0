"""The agency's picker names its sub-accounts, from GHL's list of where the app is installed.

Everything runs over real HTTP against the sandbox: the consent page (the agency
chosen on it), the callback, the listing and the location tokens.
"""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import parse_qs

import pytest
from django.contrib.auth import get_user_model

from mcpbridge.sandbox import ANA, APP_ID, COMPANY_ID, DENTAL, ROOFING
from tenants import crypto
from tenants.highlevel import lookups
from tenants.highlevel.agency import SESSION_KEY
from tenants.models import Tenant
from tests.signin.conftest import authorisation_start, consent

pytestmark = pytest.mark.django_db

PICKER = "/accounts/highlevel/agency/"
LISTING = "/oauth/installedLocations"


def agency_sign_in(client) -> str:
    """Sign in choosing the agency on the sandbox's consent page; return the picker page."""
    response = client.get(consent(authorisation_start(client), location_id=COMPANY_ID, user_id=ANA))
    assert response.status_code == 302, response.content[:500]
    assert response.headers["Location"] == PICKER
    page = client.get(PICKER)
    assert page.status_code == 200, page.content[:500]
    return page.content.decode()


def agency_token_of(client) -> str:
    sealed = client.session[SESSION_KEY]["sealed"]
    return json.loads(crypto.decrypt(base64.b64decode(sealed)))["access_token"]


def without_scope(settings, scope: str) -> None:
    scopes = [item for item in settings.GHL_OAUTH_SCOPES if item != scope]
    settings.GHL_OAUTH_SCOPES = scopes
    settings.SOCIALACCOUNT_PROVIDERS["highlevel"]["SCOPE"] = scopes


def test_the_picker_shows_each_sub_accounts_name_and_address(client, highlevel) -> None:
    page = agency_sign_in(client)

    assert "Bright Smile Dental" in page
    assert "1 Main Street, New York, NY 10001, US" in page
    assert "Summit Roofing" in page
    assert "Denver, CO" in page
    assert page.index("Bright Smile Dental") < page.index("Summit Roofing")
    assert f'value="{DENTAL}"' in page
    assert f'value="{ROOFING}"' in page
    assert "listed by ID" not in page
    (seen,) = highlevel.requests(LISTING, "GET")
    assert (seen.status, seen.version) == (200, "2021-07-28")
    query = {key: values[0] for key, values in parse_qs(seen.query).items()}
    assert query["companyId"] == COMPANY_ID
    assert query["appId"] == APP_ID
    assert query["isInstalled"] == "true"


def test_picking_a_named_sub_account_connects_that_sub_account(client, highlevel) -> None:
    agency_sign_in(client)

    response = client.post(PICKER, {"location": [ROOFING]})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    tenant = Tenant.objects.get()
    assert (tenant.location_id, tenant.name, tenant.company_id) == (
        ROOFING,
        "Summit Roofing",
        COMPANY_ID,
    )
    assert tenant.memberships.get().user == get_user_model().objects.get()
    assert [r.status for r in highlevel.requests("/oauth/locationToken", "POST")] == [200]
    assert "Connected Summit Roofing." in client.get("/").content.decode()


def test_a_refused_choice_shows_the_names_again(client, highlevel) -> None:
    agency_sign_in(client)

    response = client.post(PICKER, {"location": ["loc_someone_else"]})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose one or more" in page
    assert "Summit Roofing" in page


def test_the_names_are_read_page_by_page(client, highlevel, monkeypatch) -> None:
    monkeypatch.setattr(lookups, "LISTING_PAGE_SIZE", 1)

    page = agency_sign_in(client)

    assert "Bright Smile Dental" in page
    assert "Summit Roofing" in page
    skips = [parse_qs(r.query)["skip"] for r in highlevel.requests(LISTING, "GET")]
    assert skips == [["0"], ["1"]]


def test_the_agency_token_stays_out_of_the_page_and_the_logs(client, highlevel, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    page = agency_sign_in(client)
    highlevel.fail(LISTING, status=401, message="Invalid token: access token is invalid")
    fallback = client.get(PICKER).content.decode()
    token = agency_token_of(client)

    assert token not in page
    assert token not in fallback
    assert token not in caplog.text
    assert token not in client.cookies.output()


def test_without_oauth_readonly_the_picker_lists_ids_with_a_note(
    client, highlevel, settings
) -> None:
    without_scope(settings, "oauth.readonly")

    page = agency_sign_in(client)

    assert [r.status for r in highlevel.requests(LISTING, "GET")] == [401]
    assert "listed by ID" in page
    assert "The token is not authorized for this scope." in page
    assert f"> {DENTAL}</label>" in " ".join(page.split())
    assert f"> {ROOFING}</label>" in " ".join(page.split())
    assert "Summit Roofing" not in page

    response = client.post(PICKER, {"location": [DENTAL]})

    assert response.status_code == 302
    assert Tenant.objects.get().location_id == DENTAL
    assert Tenant.objects.get().name == "Bright Smile Dental"


def test_a_wrong_app_id_leaves_the_ids_and_says_why(client, highlevel, settings) -> None:
    settings.GHL_APP_ID = "someone-elses-app"

    page = agency_sign_in(client)

    assert [r.status for r in highlevel.requests(LISTING, "GET")] == [400]
    assert "listed by ID" in page
    assert "App not found" in page
    assert f'value="{DENTAL}"' in page


def test_a_slow_listing_gives_way_to_the_ids(client, highlevel, monkeypatch) -> None:
    monkeypatch.setattr(lookups, "LISTING_SECONDS", 0.2)
    agency_sign_in(client)
    highlevel.fail(LISTING, delay=1.0)

    response = client.get(PICKER)

    assert response.status_code == 200
    page = response.content.decode()
    assert "listed by ID" in page
    assert "HighLevel could not be reached" in page
    assert f'value="{ROOFING}"' in page
    assert client.post(PICKER, {"location": [ROOFING]}).status_code == 302
    assert Tenant.objects.get().location_id == ROOFING
