"""Every JSON API (credentials, GHL webhooks, tool endpoints) answers bad requests one way."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ADMIN_TOKEN = "admin-api-token-for-tests-0123456789abcdef"
POST_ONLY = ["/api/tenant/credentials", "/webhooks/ghl", "/tools/get_location"]
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(autouse=True)
def _admin_token(settings):
    settings.ADMIN_API_TOKEN = ADMIN_TOKEN


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]


@pytest.mark.parametrize("url", POST_ONLY)
def test_a_get_to_a_post_endpoint_is_a_json_405_naming_the_method(client: Client, url):
    response = client.get(url)
    assert_json_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("url", ["/api/tenant/credentials", "/webhooks/ghl"])
def test_a_declared_body_over_the_limit_is_refused_with_413_before_it_is_read(client, url):
    response = client.post(
        url, data=b"{}", content_type="application/json", CONTENT_LENGTH="10000000", **BEARER
    )
    assert_json_error(response, 413, "too_large")


def test_a_body_that_is_not_json_names_the_problem_field(client):
    response = client.post(
        "/api/tenant/credentials", data=b"\xff{", content_type="application/json", **BEARER
    )
    assert_json_error(response, 400, "invalid")
    assert response.json()["fields"] == {"body": ["The body must be UTF-8 JSON."]}
