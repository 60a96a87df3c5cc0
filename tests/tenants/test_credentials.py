from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.credentials import (
    CredentialsConflictError,
    InvalidCredentialsPayloadError,
    TenantSecretMissingError,
    get_tenant_secrets,
    upsert_credentials,
)
from tenants.models import Tenant, TenantSecret

pytestmark = pytest.mark.django_db

GHL_PAYLOAD = {
    "access_token": "eyJhbGciOi.ghl-access.sig",
    "token_type": "Bearer",
    "expires_in": 86399,
    "refresh_token": "ghl-refresh-0001",
    "scope": "contacts.readonly contacts.write",
    "userType": "Location",
    "companyId": "company-0001",
    "locationId": "loc-0001",
    "userId": "user-0001",
    "planId": "ignored",
}
SCRIPT_PAYLOAD = {
    "tenantId": "acme",
    "accessToken": "pit-0123456789abcdef0123456789abcdef",
    "locationId": "loc-0001",
    "companyId": "company-0001",
    "expiresIn": 3600,
    "scope": "contacts.readonly",
    "userType": "Location",
}


def test_it_creates_a_tenant_and_its_secret_from_a_ghl_token_payload(
    changes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tenant, created = upsert_credentials(GHL_PAYLOAD, reason="login")

    assert created is True
    assert (tenant.slug, tenant.location_id, tenant.company_id) == (
        "loc-0001",
        "loc-0001",
        "company-0001",
    )
    secrets = get_tenant_secrets(tenant)
    assert secrets.access_token == GHL_PAYLOAD["access_token"]
    assert secrets.refresh_token == GHL_PAYLOAD["refresh_token"]
    assert secrets.scopes == ("contacts.readonly", "contacts.write")
    assert secrets.version == 1
    lifetime = secrets.expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(seconds=86399)
    assert TenantSecret.objects.get(tenant=tenant).user_id == "user-0001"
    assert changes == [
        {
            "tenant_id": tenant.pk,
            "tenant_slug": "loc-0001",
            "version": 1,
            "reason": "login",
            "revoke": False,
        }
    ]


def test_camel_case_and_ghl_spellings_update_the_same_tenant(
    changes, django_capture_on_commit_callbacks
):
    tenant, created = upsert_credentials(SCRIPT_PAYLOAD)
    assert (created, tenant.slug) == (True, "acme")

    with django_capture_on_commit_callbacks(execute=True):
        again, created = upsert_credentials(GHL_PAYLOAD)

    assert (again.pk, created) == (tenant.pk, False)
    secrets = get_tenant_secrets(tenant)
    assert secrets.access_token == GHL_PAYLOAD["access_token"]
    assert secrets.version == 2
    assert [(c["reason"], c["version"]) for c in changes] == [("update", 2)]


def test_a_payload_without_lifetime_or_refresh_token_stores_a_token_that_never_expires():
    payload = {"accessToken": "pit-abcdef", "locationId": "loc-0002", "tenantId": "pit-co"}
    tenant, _ = upsert_credentials(payload)
    secrets = get_tenant_secrets(tenant)
    assert (secrets.refresh_token, secrets.expires_at) == ("", None)


def test_new_credentials_reactivate_a_tenant_that_needed_re_authorisation(tenant_factory):
    tenant = tenant_factory(
        "acme", location_id="loc-0001", status=Tenant.Status.NEEDS_REAUTH, status_reason="x"
    )
    upsert_credentials(SCRIPT_PAYLOAD)
    tenant.refresh_from_db()
    assert (tenant.status, tenant.status_reason) == (Tenant.Status.ACTIVE, "")


def test_new_credentials_leave_a_disabled_tenant_disabled(tenant_factory):
    tenant = tenant_factory("acme", location_id="loc-0001", status=Tenant.Status.DISABLED)
    upsert_credentials(SCRIPT_PAYLOAD)
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.DISABLED


def test_a_tenant_created_by_staff_gets_its_first_secret(tenant_factory):
    tenant = tenant_factory("acme", location_id="loc-0001", access_token=None)
    again, created = upsert_credentials(SCRIPT_PAYLOAD)
    assert (again.pk, created) == (tenant.pk, False)
    assert get_tenant_secrets(tenant).version == 1


def test_a_location_bound_to_another_slug_is_a_conflict_and_changes_nothing(tenant_factory):
    tenant = tenant_factory("globex", location_id="loc-0001", access_token="kept")
    with pytest.raises(CredentialsConflictError, match="globex") as caught:
        upsert_credentials(SCRIPT_PAYLOAD)
    assert caught.value.field == "tenantId"
    assert get_tenant_secrets(tenant).access_token == "kept"


def test_a_slug_bound_to_another_location_is_a_conflict(tenant_factory):
    tenant_factory("acme", location_id="loc-9999", access_token="kept")
    with pytest.raises(CredentialsConflictError) as caught:
        upsert_credentials(SCRIPT_PAYLOAD)
    assert caught.value.field == "locationId"
    assert not Tenant.objects.filter(location_id="loc-0001").exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"locationId": "loc-1"}, "accessToken"),
        ({"accessToken": "abc"}, "locationId"),
        ({"accessToken": 42, "locationId": "loc-1"}, "accessToken"),
        ({"access_token": "has space", "locationId": "loc-1"}, "access_token"),
        ({"accessToken": "abc", "locationId": "loc/1"}, "locationId"),
        ({"accessToken": "abc", "locationId": "loc-1", "expiresIn": "soon"}, "expiresIn"),
        ({"accessToken": "abc", "locationId": "loc-1", "expires_in": True}, "expires_in"),
        ({"accessToken": "abc", "locationId": "loc-1", "expiresIn": 1.5}, "expiresIn"),
        ({"accessToken": "abc", "locationId": "loc-1", "expiresIn": -1}, "expiresIn"),
        ({"accessToken": "abc", "locationId": "loc-1", "userType": "Agency"}, "userType"),
        ({"accessToken": "abc", "locationId": "loc-1", "scope": ["a"]}, "scope"),
        ({"accessToken": "abc", "locationId": "loc-1", "name": "x" * 201}, "name"),
        ({"accessToken": "a" * 8193, "locationId": "loc-1"}, "accessToken"),
        ({"accessToken": "abc", "locationId": "loc-1", "tenantId": "a b"}, "tenantId"),
    ],
)
def test_a_malformed_payload_names_the_bad_field_and_stores_nothing(payload, field):
    with pytest.raises(InvalidCredentialsPayloadError) as caught:
        upsert_credentials(payload)
    assert field in caught.value.errors
    assert not Tenant.objects.exists()


def test_a_payload_that_is_not_a_mapping_is_refused():
    with pytest.raises(InvalidCredentialsPayloadError) as caught:
        upsert_credentials(["accessToken"])  # type: ignore[arg-type]  # the wrong type on purpose
    assert caught.value.errors == {"body": ["Must be a JSON object."]}


def test_a_whole_number_lifetime_sent_as_a_float_is_accepted():
    tenant, _ = upsert_credentials({**SCRIPT_PAYLOAD, "expiresIn": 60.0})
    assert get_tenant_secrets(tenant).expires_at < timezone.now() + timedelta(seconds=61)


def test_secrets_of_a_tenant_without_credentials_are_missing(tenant_factory):
    tenant = tenant_factory("acme", access_token=None)
    with pytest.raises(TenantSecretMissingError, match="acme"):
        get_tenant_secrets(tenant)


def test_the_credentials_value_never_shows_its_tokens(tenant_factory):
    tenant = tenant_factory("acme", access_token="visible-nowhere-1", refresh_token="nor-this-2")
    secrets = get_tenant_secrets(tenant)
    assert "visible-nowhere-1" not in repr(secrets)
    assert "nor-this-2" not in repr(secrets)
    assert "visible-nowhere-1" not in str(TenantSecret.objects.get(tenant=tenant))


def test_a_rolled_back_change_sends_no_signal(changes, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        upsert_credentials(SCRIPT_PAYLOAD)
        transaction.set_rollback(True)
    assert changes == []
    assert not Tenant.objects.exists()
