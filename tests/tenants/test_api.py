from __future__ import annotations

import json

import pytest
from django.test import Client

from tenants.credentials import get_tenant_secrets
from tenants.models import Tenant, TenantSecret

pytestmark = pytest.mark.django_db

URL = "/api/tenant/credentials"
ADMIN_TOKEN = "admin-api-token-for-tests-0123456789abcdef"
ACCESS = "eyJhbGciOiJIUzI1NiJ9.new-access.sig"
REFRESH = "new-refresh-token-0123456789"
BODY = {
    "tenantId": "acme",
    "accessToken": ACCESS,
    "locationId": "loc-acme",
    "refreshToken": REFRESH,
    "expiresIn": 86399,
    "scope": "contacts.readonly",
    "companyId": "company-1",
    "userType": "Location",
}


@pytest.fixture(autouse=True)
def _admin_token(settings):
    settings.ADMIN_API_TOKEN = ADMIN_TOKEN


def post(client: Client, body: object = BODY, *, token: str | None = ADMIN_TOKEN, **extra):
    headers = extra.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    content_type = extra.pop("content_type", "application/json")
    return client.post(URL, data=data, content_type=content_type, headers=headers, **extra)


def assert_no_token_in(response) -> None:
    for secret in (ACCESS, REFRESH, ADMIN_TOKEN, "access-0", "refresh-0"):
        assert secret not in response.content.decode()


def test_the_admin_token_creates_a_tenant_with_201(client, changes):
    response = post(client)
    assert response.status_code == 201
    body = response.json()
    assert body["tenantId"] == "acme"
    assert body["locationId"] == "loc-acme"
    assert body["created"] is True
    assert body["version"] == 1
    assert body["expiresAt"]
    assert_no_token_in(response)
    assert get_tenant_secrets(Tenant.objects.get(slug="acme")).access_token == ACCESS


def test_pushing_again_updates_with_200_and_a_new_version(client, tenant_factory):
    tenant = tenant_factory("acme", location_id="loc-acme")
    response = post(client)
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert response.json()["version"] == 2
    assert_no_token_in(response)
    assert get_tenant_secrets(tenant).refresh_token == REFRESH


def test_a_curl_form_encoded_json_body_is_accepted(client):
    response = post(client, json.dumps(BODY), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201


def test_the_change_is_announced_on_commit(client, changes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client)
    assert [(c["tenant_slug"], c["reason"], c["revoke"]) for c in changes] == [
        ("acme", "update", False)
    ]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Bearer ", "Basic " + ADMIN_TOKEN, ADMIN_TOKEN, "Bearer é"],
)
def test_a_missing_or_wrong_token_is_401_json(client, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.post(URL, data=BODY, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Tenant.objects.exists()


def test_no_token_matches_when_none_is_configured(client, settings):
    settings.ADMIN_API_TOKEN = ""
    assert post(client, token="").status_code == 401


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405(client, method):
    response = getattr(client, method)(URL, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("persona", ["owner", "member", "outsider"])
def test_tenant_users_who_are_not_staff_are_403(client, personas, persona):
    before = get_tenant_secrets(personas.tenant)
    client.force_login(getattr(personas, persona))
    response = post(client, {**BODY, "tenantId": "acme", "locationId": "loc-acme"}, token=None)
    assert response.status_code == 403
    assert get_tenant_secrets(personas.tenant) == before


def test_a_staff_session_with_a_csrf_token_may_push(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.staff)
    client.get("/admin/")
    csrf = client.cookies["csrftoken"].value
    response = post(
        client,
        {**BODY, "tenantId": "newco", "locationId": "loc-new"},
        token=None,
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201


def test_a_staff_session_without_csrf_token_is_403(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.staff)
    response = post(client, {**BODY, "tenantId": "newco", "locationId": "loc-new"}, token=None)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not Tenant.objects.filter(slug="newco").exists()


def staff_client(personas) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.staff)
    client.get("/admin/")
    return client, client.cookies["csrftoken"].value


def test_a_staff_session_may_push_json_sent_as_a_multipart_form(personas):
    client, csrf = staff_client(personas)
    body = {**BODY, "tenantId": "newco", "locationId": "loc-new"}
    response = post(
        client,
        body,
        token=None,
        headers={"X-CSRFToken": csrf},
        content_type="multipart/form-data; boundary=x",
    )
    assert response.status_code == 201


def test_a_staff_push_whose_multipart_type_cannot_be_parsed_is_a_json_400(personas):
    # The CSRF check reads a form body for its token; this one once ended in Django's HTML page.
    client, csrf = staff_client(personas)
    body = {**BODY, "tenantId": "newco", "locationId": "loc-new"}
    response = post(
        client, body, token=None, headers={"X-CSRFToken": csrf}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert not Tenant.objects.filter(slug="newco").exists()


def test_the_bearer_token_is_not_subject_to_csrf():
    response = post(Client(enforce_csrf_checks=True))
    assert response.status_code == 201


@pytest.fixture
def existing(tenant_factory) -> Tenant:
    return tenant_factory("acme", location_id="loc-acme", access_token="access-0")


def raw_secret(tenant: Tenant) -> tuple[str, str, int]:
    secret = TenantSecret.objects.get(tenant=tenant)
    return secret.access_token, secret.refresh_token, secret.version


BAD_BODIES = [
    ("not json", b"{not json", "body"),
    ("not utf-8", b"\xff\xfe{}", "body"),
    ("a list", b"[1, 2]", "body"),
    ("empty", b"", "body"),
    ("deeply nested", b"[" * 5000 + b"]" * 5000, "body"),
    ("missing tenantId", {k: v for k, v in BODY.items() if k != "tenantId"}, "tenantId"),
    ("missing accessToken", {k: v for k, v in BODY.items() if k != "accessToken"}, "accessToken"),
    ("missing locationId", {k: v for k, v in BODY.items() if k != "locationId"}, "locationId"),
    ("empty accessToken", {**BODY, "accessToken": ""}, "accessToken"),
    ("number accessToken", {**BODY, "accessToken": 12345}, "accessToken"),
    ("number tenantId", {**BODY, "tenantId": 0}, "tenantId"),
    ("string expiresIn", {**BODY, "expiresIn": "86399"}, "expiresIn"),
    (
        "NaN expiresIn",
        b'{"tenantId": "acme", "accessToken": "a", "locationId": "loc-acme", "expiresIn": NaN}',
        "expiresIn",
    ),
    ("object scope", {**BODY, "scope": {"a": 1}}, "scope"),
    ("bad userType", {**BODY, "userType": "Agency"}, "userType"),
    ("bad refreshToken", {**BODY, "refreshToken": ["x"]}, "refreshToken"),
    ("bad companyId", {**BODY, "companyId": "a/b"}, "companyId"),
    # PostgreSQL cannot store a NUL character in text.
    ("NUL in scope", {**BODY, "scope": "contacts.readonly\u0000"}, "scope"),
    ("NUL in name", {**BODY, "name": "Acme\u0000"}, "name"),
    # Neither can it (nor SQLite) store half a surrogate pair, which JSON may escape.
    ("lone surrogate in name", json.dumps(BODY)[:-1] + ', "name": "Acme \\ud800"}', "body"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_input_is_400_naming_the_field_and_the_stored_secret_is_unchanged(
    client, existing, case, body, field
):
    before = raw_secret(existing)
    response = post(client, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert_no_token_in(response)
    assert raw_secret(existing) == before


def test_a_conflicting_tenant_is_409_and_the_stored_secret_is_unchanged(client, existing):
    before = raw_secret(existing)
    response = post(client, {**BODY, "tenantId": "other-slug"})
    assert response.status_code == 409
    assert "tenantId" in response.json()["fields"]
    assert raw_secret(existing) == before


def test_a_body_over_64_kb_is_413_and_the_stored_secret_is_unchanged(client, existing):
    before = raw_secret(existing)
    response = post(client, {**BODY, "name": "x" * (64 * 1024)})
    assert response.status_code == 413
    assert raw_secret(existing) == before


def test_a_body_of_exactly_64_kb_is_read(client, existing):
    body = json.dumps(BODY)
    padded = body[:-1] + " " * (64 * 1024 - len(body)) + "}"
    assert len(padded.encode()) == 64 * 1024
    assert post(client, padded).status_code == 200
