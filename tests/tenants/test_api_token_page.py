"""The tenant's API tokens page: owners create and revoke, members look, outsiders 404."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tenants.access import api_token_authenticate, api_token_create
from tenants.models import ApiToken, Membership

pytestmark = pytest.mark.django_db

PAGE = "/tenants/acme/api-tokens/"
TOKEN_RE = re.compile(r"ghlhub_[A-Za-z0-9_-]{20,}")


def client_of(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def revoke_url(token: ApiToken) -> str:
    return f"{PAGE}{token.pk}/revoke/"


@pytest.fixture
def acme_token(personas) -> ApiToken:
    return api_token_create(tenant=personas.tenant, name="ci", created_by=personas.owner)[0]


def test_an_owner_creates_a_token_and_sees_its_plaintext_once(personas):
    client = client_of(personas.owner)
    response = client.post(
        PAGE, {"name": "go-live", "role": "member", "scopes": ["read", "write"], "expires": "30"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [plaintext] = TOKEN_RE.findall(response.content.decode())
    token = ApiToken.objects.get(name="go-live")
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in {token.prefix, token.token_hash, token.name}
    assert (token.tenant, token.created_by, token.role) == (
        personas.tenant,
        personas.owner,
        Membership.Role.MEMBER,
    )
    assert token.expires_at is not None
    assert api_token_authenticate(plaintext) == token
    again = client.get(PAGE).content.decode()
    assert plaintext not in again
    assert token.prefix in again


def test_a_token_form_with_errors_creates_nothing(personas):
    response = client_of(personas.owner).post(PAGE, {"name": "", "role": "owner"})
    assert response.status_code == 200
    assert not ApiToken.objects.exists()
    assert b"This field is required" in response.content


def test_an_owner_revokes_a_token(personas, acme_token):
    response = client_of(personas.owner).post(revoke_url(acme_token))
    assert response.status_code == 302
    acme_token.refresh_from_db()
    assert acme_token.revoked_at is not None
    page = client_of(personas.owner).get(PAGE)
    assert b"Revoked" in page.content


@pytest.mark.parametrize("persona", ["member", "viewer"])
def test_members_see_the_tokens_but_no_create_or_revoke(personas, acme_token, persona):
    client = client_of(getattr(personas, persona))
    page = client.get(PAGE)
    assert page.status_code == 200
    assert acme_token.prefix.encode() in page.content
    assert b"Create token" not in page.content
    assert b"Revoke" not in page.content
    assert client.post(PAGE, {"name": "sneaky", "role": "member"}).status_code == 403
    assert client.post(revoke_url(acme_token)).status_code == 403
    assert not ApiToken.objects.filter(name="sneaky").exists()
    acme_token.refresh_from_db()
    assert acme_token.revoked_at is None


@pytest.mark.parametrize("persona", ["outsider", "staff"])
def test_outsiders_get_404_everywhere_on_the_page(personas, acme_token, persona):
    client = client_of(getattr(personas, persona))
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, {"name": "x", "role": "member"}).status_code == 404
    assert client.post(revoke_url(acme_token)).status_code == 404
    acme_token.refresh_from_db()
    assert acme_token.revoked_at is None


def test_a_token_of_another_tenant_cannot_be_revoked_through_this_one(personas, tenant_factory):
    other = ApiToken.objects.get(
        pk=api_token_create(tenant=tenant_factory("initech"), name="x", created_by=None)[0].pk
    )
    assert client_of(personas.owner).post(revoke_url(other)).status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_signed_out_visitors_are_sent_to_sign_in(personas):
    response = client_of(None).get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_each_account_links_to_its_tokens_through_its_settings(personas):
    client = client_of(personas.member)
    home = client.get("/")
    assert b"/tenants/acme/settings/" in home.content
    assert b"/tenants/globex/" not in home.content
    assert PAGE.encode() in client.get("/tenants/acme/settings/").content


def test_the_command_prints_a_working_token_and_nothing_else(personas):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "acme", "smoke", stdout=out, stderr=err)
    plaintext = out.getvalue().strip()
    assert TOKEN_RE.fullmatch(plaintext)
    assert plaintext not in err.getvalue()
    token = api_token_authenticate(plaintext)
    assert (token.tenant, token.name, token.role) == (personas.tenant, "smoke", "member")


def test_the_command_refuses_an_unknown_tenant(personas):
    with pytest.raises(CommandError, match="No tenant"):
        call_command("create_api_token", "nope", "smoke", stdout=io.StringIO())
