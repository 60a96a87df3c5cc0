from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.test import Client

from tenants.access import api_token_authenticate
from tenants.models import ApiToken, Tenant, TenantSecret

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tenants/tenant/"
SECRET_ACCESS = "eyJhbGciOiJIUzI1NiJ9.admin-never-shows-this.sig"
SECRET_REFRESH = "admin-never-shows-this-refresh"


@pytest.fixture
def staff_client(personas) -> Client:
    client = Client()
    client.force_login(personas.staff)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "next=%2Fadmin%2F" in response["Location"]


def test_staff_sign_in_with_allauth_and_reach_the_admin(client, personas):
    response = client.post(
        "/accounts/login/?next=/admin/",
        {"login": "sam", "password": "pw-for-tests-only", "next": "/admin/"},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("persona", ["owner", "member", "outsider"])
def test_tenant_users_who_are_not_staff_are_kept_out_of_the_admin(client, personas, persona):
    client.force_login(getattr(personas, persona))
    assert client.get("/admin/", follow=True).status_code == 403
    assert client.get(CHANGELIST, follow=True).status_code == 403


def test_the_tenant_list_shows_secret_status_but_never_the_secret(
    staff_client, tenant_factory, personas
):
    tenant_factory(
        "pit-co", access_token=SECRET_ACCESS, refresh_token=SECRET_REFRESH, expires_in=None
    )
    tenant_factory("empty-co", access_token=None)
    tenant_factory("old-co", expires_in=-timedelta(minutes=5))
    response = staff_client.get(CHANGELIST)
    page = response.content.decode()
    assert response.status_code == 200
    assert "present, expires in 19" in page
    assert "present, does not expire" in page
    assert "present, expired" in page
    assert "missing" in page
    assert SECRET_ACCESS not in page
    assert SECRET_REFRESH not in page


def test_the_tenant_page_shows_members_and_secret_status_but_never_the_secret(
    staff_client, personas
):
    TenantSecret.objects.filter(tenant=personas.tenant).update(last_error="GHL said no")
    response = staff_client.get(f"{CHANGELIST}{personas.tenant.pk}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    for name in ("alice", "bob", "vera"):
        assert name in page
    assert "charlie" not in page
    assert "GHL said no" in page
    assert "access-0" not in page
    assert "refresh-0" not in page


def test_a_row_no_key_opens_does_not_break_the_admin(staff_client, tenant_factory, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["a-key-that-will-be-lost-0123456789abcdef"]
    lost = tenant_factory("lost-co")
    settings.FIELD_ENCRYPTION_KEYS = ["the-only-key-left-now-0123456789abcdefgh"]
    tenant_factory("fine-co")

    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    assert "unreadable" in response.content.decode()
    assert staff_client.get(f"{CHANGELIST}{lost.pk}/change/").status_code == 200

    response = staff_client.post(
        CHANGELIST, {"action": "refresh_token_now", "_selected_action": [lost.pk]}, follow=True
    )
    assert any("lost-co" in m and "decrypted" in m for m in messages_of(response))


def test_refresh_token_now_reports_per_row(staff_client, tenant_factory, ghl_token_server):
    ghl_token_server.state.live_refresh_tokens.add("refresh-0")
    good = tenant_factory("good-co")
    dead = tenant_factory("dead-co", refresh_token="spent")
    bare = tenant_factory("bare-co", access_token=None)

    response = staff_client.post(
        CHANGELIST,
        {"action": "refresh_token_now", "_selected_action": [good.pk, dead.pk, bare.pk]},
        follow=True,
    )

    messages = messages_of(response)
    assert "good-co: token refreshed (version 2)." in messages
    assert any(m.startswith("dead-co:") and "sign in with GHL again" in m for m in messages)
    assert any(m.startswith("bare-co:") and "no stored GHL credentials" in m for m in messages)
    assert not any("access-1" in m or "refresh-1" in m for m in messages)


def test_disable_and_enable_report_per_row_and_signal(
    staff_client, tenant_factory, changes, django_capture_on_commit_callbacks
):
    active = tenant_factory("active-co")
    disabled = tenant_factory("off-co", status=Tenant.Status.DISABLED)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            CHANGELIST,
            {"action": "disable", "_selected_action": [active.pk, disabled.pk]},
            follow=True,
        )
    assert "active-co: disabled." in messages_of(response)
    assert "off-co: already disabled." in messages_of(response)
    active.refresh_from_db()
    assert active.status == Tenant.Status.DISABLED
    assert "sam" in active.status_reason
    assert [(c["tenant_slug"], c["reason"], c["revoke"]) for c in changes] == [
        ("active-co", "disable", True)
    ]

    response = staff_client.post(
        CHANGELIST,
        {"action": "enable", "_selected_action": [active.pk, tenant_factory("on-co").pk]},
        follow=True,
    )
    assert "active-co: enabled." in messages_of(response)
    assert "on-co: not disabled." in messages_of(response)


def test_the_location_of_an_existing_tenant_cannot_be_edited(staff_client, personas):
    page = staff_client.get(f"{CHANGELIST}{personas.tenant.pk}/change/").content.decode()
    assert 'name="location_id"' not in page
    assert 'name="location_id"' in staff_client.get(f"{CHANGELIST}add/").content.decode()


def test_a_new_api_token_is_shown_once(staff_client, personas):
    response = staff_client.post(
        "/admin/tenants/apitoken/add/",
        {
            "tenant": personas.tenant.pk,
            "name": "deploy bot",
            "role": "viewer",
            "scopes": ["read"],
            "expires_at": "",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    plaintext = response.context["plaintext"]
    assert plaintext in response.content.decode()
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert (token.created_by, token.role) == (personas.staff, "viewer")
    assert api_token_authenticate(plaintext).pk == token.pk

    for url in ("/admin/tenants/apitoken/", f"/admin/tenants/apitoken/{token.pk}/change/"):
        page = staff_client.get(url)
        assert page.status_code == 200
        assert plaintext not in page.content.decode()
        assert token.prefix in page.content.decode()


def test_an_api_token_can_be_renamed_and_revoked(staff_client, personas):
    from tenants.access import api_token_create

    token, plaintext = api_token_create(tenant=personas.tenant, name="ci", created_by=None)
    response = staff_client.post(
        f"/admin/tenants/apitoken/{token.pk}/change/", {"name": "ci-renamed", "expires_at": ""}
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).name == "ci-renamed"

    response = staff_client.post(
        "/admin/tenants/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert any("revoked" in m for m in messages_of(response))
    assert api_token_authenticate(plaintext) is None
    assert "revoked" in staff_client.get("/admin/tenants/apitoken/").content.decode()
    response = staff_client.post(
        "/admin/tenants/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert any("already revoked" in m for m in messages_of(response))


def test_memberships_have_their_own_admin_list(staff_client, personas):
    page = staff_client.get("/admin/tenants/membership/").content.decode()
    assert "alice" in page
    assert "charlie" in page
