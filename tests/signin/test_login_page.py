"""The sign-in page: HighLevel first, a password form for staff, no way to sign up."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_leads_with_highlevel_and_offers_no_sign_up(client):
    page = client.get("/accounts/login/?next=/tenants/acme/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'action="{reverse("highlevel_login")}?next=/tenants/acme/"' in html
    assert "Sign in with HighLevel" in html
    assert reverse("account_signup") not in html
    assert '<details class="staff-signin">' in html


@pytest.mark.parametrize("query", ["?staff=1", "?next=/admin/"])
def test_the_password_form_is_open_for_staff(client, query):
    html = client.get(f"/accounts/login/{query}").content.decode()
    assert '<details class="staff-signin" open>' in html


def test_staff_sign_in_with_a_password_and_reach_the_admin(client, user_factory):
    user_factory(username="sam", is_staff=True, is_superuser=True)
    response = client.post(
        "/accounts/login/",
        {"login": "sam", "password": "pw-for-tests-only", "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_wrong_password_shows_the_form_again_with_an_error(client, user_factory):
    user_factory(username="sam", is_staff=True)
    response = client.post("/accounts/login/", {"login": "sam", "password": "wrong"})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<details class="staff-signin" open>' in html
    assert 'role="alert"' in html
    assert 'value="sam"' in html
    assert "_auth_user_id" not in client.session


def test_other_account_pages_use_the_products_layout(client):
    html = client.get("/accounts/password/reset/").content.decode()
    assert 'class="topbar"' in html
    assert 'class="page auth-page"' in html
