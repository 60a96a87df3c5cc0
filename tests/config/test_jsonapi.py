"""Every JSON API (credentials, GHL webhooks, tool endpoints) answers bad requests one way."""

from __future__ import annotations

import pytest
from django.test import Client

from config.jsonapi import json_text_loads

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


@pytest.mark.parametrize(
    "url",
    ["/mcp/not%20a%20slug/tools", "/mcp/acme/tool/a/b", "/mcp/acme/", "/tools/", "/api/nothing"],
)
def test_a_url_no_route_matches_under_the_json_apis_is_a_json_404(client, url):
    assert_json_error(client.get(url), 404, "not_found")


def test_a_page_no_route_matches_is_still_an_html_404(client):
    response = client.get("/nowhere/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_lone_surrogate_is_not_json_text_and_a_surrogate_pair_is():
    pair_and_escaped_backslash = '{"a": ["\\ud83d\\ude00", "\\\\ud800"]}'
    assert json_text_loads(pair_and_escaped_backslash) == {"a": ["\U0001f600", "\\ud800"]}
    for text in ['"\\ud800"', '{"\\udc00": 1}', '[1, ["x\\uDBFFy"]]', '"\\ude00\\ud83d"']:
        with pytest.raises(ValueError, match="lone surrogate"):
            json_text_loads(text)
