"""A callback that goes wrong ends on a clear page: never a 500, nothing stored."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenants.models import Tenant, TenantSecret
from tests.conftest import free_port
from tests.signin.conftest import CALLBACK_PATH, authorisation_start, consent

pytestmark = pytest.mark.django_db


def callback(client, **params: str):
    return client.get(f"{CALLBACK_PATH}?{urlencode(params)}")


def assert_nothing_stored() -> None:
    assert not get_user_model().objects.exists()
    assert not Tenant.objects.exists()
    assert not TenantSecret.objects.exists()


def test_a_callback_without_a_code_shows_a_clear_page(client, highlevel) -> None:
    state = authorisation_start(client).params["state"]
    response = callback(client, state=state)
    assert response.status_code == 400
    assert "HighLevel sent no authorisation code" in response.content.decode()
    assert_nothing_stored()


def test_a_callback_with_a_wrong_state_is_refused(client, highlevel) -> None:
    authorisation = authorisation_start(client)
    real = consent(authorisation)
    forged = real.replace(authorisation.params["state"], "not-the-state")
    response = client.get(forged)
    assert response.status_code == 400
    assert "This sign-in link is not valid here" in response.content.decode()
    assert_nothing_stored()


def test_a_callback_from_another_browser_is_refused(client, highlevel) -> None:
    path = consent(authorisation_start(client))
    response = Client().get(path)
    assert response.status_code == 400
    assert "started in another browser" in response.content.decode()
    assert_nothing_stored()


def test_a_callback_cannot_be_used_twice(client, highlevel) -> None:
    path = consent(authorisation_start(client))
    assert client.get(path).status_code == 302
    client.logout()
    again = client.get(path)
    assert again.status_code == 400
    assert "This sign-in link is not valid here" in again.content.decode()


def test_an_error_from_highlevel_is_shown(client, highlevel) -> None:
    state = authorisation_start(client).params["state"]
    response = callback(
        client, state=state, error="server_error", error_description="Something broke <b>"
    )
    text = response.content.decode()
    assert response.status_code == 400
    assert "HighLevel reported an error" in text
    assert "Something broke &lt;b&gt;" in text
    assert_nothing_stored()


def test_denying_consent_says_nothing_changed(client, highlevel) -> None:
    authorisation = authorisation_start(client)
    response = callback(client, state=authorisation.params["state"], error="access_denied")
    assert response.status_code == 400
    assert "You cancelled on HighLevel" in response.content.decode()
    assert_nothing_stored()


def test_a_code_highlevel_refuses_shows_why(client, highlevel) -> None:
    state = authorisation_start(client).params["state"]
    response = callback(client, state=state, code="made-up-code")
    text = response.content.decode()
    assert response.status_code == 400
    assert "HighLevel refused the sign-in" in text
    assert "authorization code is invalid or expired" in text
    assert_nothing_stored()


def test_a_token_endpoint_that_is_down_shows_a_clear_page(client, highlevel, settings) -> None:
    path = consent(authorisation_start(client))
    settings.GHL_BASE_URL = f"http://127.0.0.1:{free_port()}"
    response = client.get(path)
    assert response.status_code == 502
    assert "HighLevel could not be reached" in response.content.decode()
    assert_nothing_stored()


def test_an_error_answer_from_the_token_endpoint_shows_a_clear_page(
    client, highlevel, settings
) -> None:
    path = consent(authorisation_start(client))
    settings.GHL_BASE_URL = highlevel.url + "/no-such-prefix"
    response = client.get(path)
    assert response.status_code == 400
    assert "HighLevel refused the sign-in" in response.content.decode()
    assert_nothing_stored()


def test_an_unconfigured_hub_explains_what_is_missing(client, settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {"highlevel": {"APPS": []}}
    for response in (
        client.post("/accounts/highlevel/login/"),
        client.get(f"{CALLBACK_PATH}?code=x&state=y"),
    ):
        assert response.status_code == 503
        assert "GHL_CLIENT_ID" in response.content.decode()
    home = client.get("/")
    assert home.status_code == 200
    assert "Sign in with HighLevel" in home.content.decode()


def test_the_login_page_offers_highlevel(client, highlevel) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert "HighLevel" in page
    assert "/accounts/highlevel/login/" in page
