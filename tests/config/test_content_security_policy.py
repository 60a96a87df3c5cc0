"""Every page carries a Content-Security-Policy; the admin's allows only inline styles more."""

from __future__ import annotations

import pytest
from django.test import Client

from config.middleware import ADMIN_CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.django_db


def policy(response) -> str:
    return response.headers.get("Content-Security-Policy", "")


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/no-such-page/"])
def test_a_visitors_pages_and_errors_allow_no_inline_script(client: Client, path):
    response = client.get(path)
    assert policy(response) == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in policy(response)
    assert "unsafe-inline" not in policy(response)


# The tool explorer (an async view) has its own check in tests/chat/test_pages.py.
@pytest.mark.parametrize("page", ["", "chat/", "settings/", "api-tokens/", "audit/"])
def test_an_owners_tenant_pages_carry_the_policy(personas, page):
    client = Client()
    client.force_login(personas.owner)
    response = client.get(f"/tenants/acme/{page}", follow=True)
    assert response.status_code == 200
    assert policy(response) == CONTENT_SECURITY_POLICY


def test_the_admin_may_style_inline_but_runs_only_its_own_scripts(admin_client):
    for path in ("/admin/", "/admin/tenants/tenant/", "/admin/mcp/children/"):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert policy(response) == ADMIN_CONTENT_SECURITY_POLICY
        assert "script-src 'self';" in policy(response)
