"""Staff find the bridge's page from the admin's home page."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_admin_home_links_to_this_workers_children(client, user_factory):
    client.force_login(user_factory("sam", is_staff=True, is_superuser=True))
    html = client.get("/admin/").content.decode()
    assert f'href="{reverse("mcp_children")}"' in html
    assert 'href="/admin/tenants/tenant/"' in html
