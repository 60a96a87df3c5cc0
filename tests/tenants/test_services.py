from __future__ import annotations

import logging

import pytest

from tenants.credentials import TenantInactiveError, get_valid_token
from tenants.models import Membership, Tenant, TenantSecret
from tenants.services import (
    membership_grant,
    tenant_disable,
    tenant_enable,
    tenant_mark_uninstalled,
)
from tenants.signals import credentials_changed, credentials_changed_on_commit

pytestmark = pytest.mark.django_db


def test_disabling_bumps_the_version_and_tells_children_to_close(
    tenant_factory, changes, django_capture_on_commit_callbacks
):
    tenant = tenant_factory("acme")
    with django_capture_on_commit_callbacks(execute=True):
        tenant_disable(tenant=tenant, reason="Abuse report.")

    tenant.refresh_from_db()
    assert (tenant.status, tenant.status_reason) == (Tenant.Status.DISABLED, "Abuse report.")
    assert TenantSecret.objects.get(tenant=tenant).version == 2
    assert changes == [
        {
            "tenant_id": tenant.pk,
            "tenant_slug": "acme",
            "version": 2,
            "reason": "disable",
            "revoke": True,
        }
    ]
    with pytest.raises(TenantInactiveError):
        get_valid_token(tenant)


def test_enabling_makes_the_tenant_usable_without_revoking(
    tenant_factory, changes, django_capture_on_commit_callbacks
):
    tenant = tenant_factory("acme", access_token="access-0", status=Tenant.Status.DISABLED)
    with django_capture_on_commit_callbacks(execute=True):
        tenant_enable(tenant=tenant)
    tenant.refresh_from_db()
    assert tenant.is_usable
    assert [(c["reason"], c["revoke"], c["version"]) for c in changes] == [("enable", False, 2)]
    assert get_valid_token(tenant) == "access-0"


def test_an_uninstall_revokes(tenant_factory, changes, django_capture_on_commit_callbacks):
    tenant = tenant_factory("acme")
    with django_capture_on_commit_callbacks(execute=True):
        tenant_mark_uninstalled(tenant=tenant)
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.UNINSTALLED
    assert [(c["reason"], c["revoke"]) for c in changes] == [("uninstall", True)]


def test_disabling_a_tenant_without_credentials_signals_version_zero(
    tenant_factory, changes, django_capture_on_commit_callbacks
):
    tenant = tenant_factory("acme", access_token=None)
    with django_capture_on_commit_callbacks(execute=True):
        tenant_disable(tenant=tenant)
    assert [(c["version"], c["revoke"]) for c in changes] == [(0, True)]


def test_deleting_a_tenant_tells_children_to_close(
    tenant_factory, changes, django_capture_on_commit_callbacks
):
    tenant = tenant_factory("acme")
    tenant_id = tenant.pk
    with django_capture_on_commit_callbacks(execute=True):
        tenant.delete()
    assert changes == [
        {
            "tenant_id": tenant_id,
            "tenant_slug": "acme",
            "version": 1,
            "reason": "deleted",
            "revoke": True,
        }
    ]


def test_a_failing_receiver_is_logged_and_does_not_break_the_change(
    tenant_factory, django_capture_on_commit_callbacks, caplog
):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    tenant = tenant_factory("acme")
    credentials_changed.connect(broken, dispatch_uid="tests.broken")
    try:
        with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
            tenant_disable(tenant=tenant)
    finally:
        credentials_changed.disconnect(dispatch_uid="tests.broken")
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.DISABLED
    assert "receiver" in caplog.text
    assert "acme" in caplog.text


def test_an_unknown_reason_is_refused():
    with pytest.raises(ValueError, match="reason"):
        credentials_changed_on_commit(tenant_id=1, tenant_slug="x", version=1, reason="whim")


def test_granting_a_membership_creates_or_updates_it(tenant_factory, user_factory):
    tenant, user = tenant_factory("acme"), user_factory()
    membership_grant(tenant=tenant, user=user, role="viewer")
    membership_grant(tenant=tenant, user=user, role=Membership.Role.OWNER)
    assert list(Membership.objects.values_list("role", flat=True)) == ["owner"]
    with pytest.raises(ValueError, match="emperor"):
        membership_grant(tenant=tenant, user=user, role="emperor")


def test_models_describe_themselves_without_secrets(tenant_factory, user_factory):
    tenant = tenant_factory("acme", access_token="never-shown-token")
    membership = membership_grant(tenant=tenant, user=user_factory("alice"), role="member")
    assert str(tenant) == "Acme"
    assert str(membership) == "alice in Acme (member)"
    assert "never-shown-token" not in str(tenant.secret)
