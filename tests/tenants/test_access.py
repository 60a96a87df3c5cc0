from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from tenants.access import (
    LAST_USED_RESOLUTION,
    TOKEN_PREFIX,
    aapi_token_authenticate,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    atenant_access_for_token,
    atenant_access_for_user,
    tenant_access_for_token,
    tenant_access_for_user,
)
from tenants.models import ApiToken, Membership

pytestmark = pytest.mark.django_db

Role = Membership.Role


@pytest.mark.parametrize(
    ("persona", "role"), [("owner", Role.OWNER), ("member", Role.MEMBER), ("viewer", Role.VIEWER)]
)
def test_members_get_their_tenant_and_role(personas, persona, role):
    access = tenant_access_for_user(getattr(personas, persona), "acme")
    assert (access.tenant, access.role) == (personas.tenant, role)


@pytest.mark.parametrize("slug", ["acme", "no-such-tenant"])
def test_an_outsider_gets_404_whether_or_not_the_tenant_exists(personas, slug):
    with pytest.raises(Http404) as caught:
        tenant_access_for_user(personas.outsider, slug)
    assert str(caught.value) == "No such tenant."


def test_staff_without_membership_are_outsiders_too(personas):
    with pytest.raises(Http404):
        tenant_access_for_user(personas.staff, "acme")


@pytest.mark.parametrize("user", [None, AnonymousUser()])
def test_anonymous_users_get_404(personas, user):
    with pytest.raises(Http404):
        tenant_access_for_user(user, "acme")


def test_an_inactive_member_gets_404(personas):
    personas.owner.is_active = False
    personas.owner.save()
    with pytest.raises(Http404):
        tenant_access_for_user(personas.owner, "acme")


@pytest.mark.parametrize(
    ("persona", "min_role", "allowed"),
    [
        ("owner", Role.OWNER, True),
        ("member", Role.OWNER, False),
        ("member", Role.MEMBER, True),
        ("viewer", Role.MEMBER, False),
        ("viewer", Role.VIEWER, True),
    ],
)
def test_a_role_below_the_minimum_gets_403(personas, persona, min_role, allowed):
    user = getattr(personas, persona)
    if allowed:
        assert tenant_access_for_user(user, "acme", min_role=min_role).tenant == personas.tenant
    else:
        with pytest.raises(PermissionDenied, match=min_role.label):
            tenant_access_for_user(user, "acme", min_role=min_role)


def test_a_token_is_created_shown_once_and_stored_only_as_its_hash(personas):
    token, plaintext = api_token_create(
        tenant=personas.tenant, name="ci", created_by=personas.owner
    )
    assert plaintext.startswith(TOKEN_PREFIX)
    assert len(plaintext) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext.startswith(stored.prefix)
    assert plaintext not in str(stored.__dict__)
    assert plaintext not in str(stored)


def test_a_token_authenticates_and_records_its_use(personas):
    token, plaintext = api_token_create(tenant=personas.tenant, name="ci", created_by=None)
    found = api_token_authenticate(plaintext)
    assert found is not None
    assert found.pk == token.pk
    first_use = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first_use is not None
    # Uses within the resolution do not write again.
    api_token_authenticate(plaintext)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first_use
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - LAST_USED_RESOLUTION)
    api_token_authenticate(plaintext)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first_use


@pytest.mark.parametrize(
    "raw", [None, "", "not-a-hub-token", TOKEN_PREFIX + "unknown", TOKEN_PREFIX + "x" * 300]
)
def test_unknown_or_malformed_tokens_do_not_authenticate(personas, raw):
    api_token_create(tenant=personas.tenant, name="ci", created_by=None)
    assert api_token_authenticate(raw) is None


def test_revoked_and_expired_tokens_do_not_authenticate(personas):
    revoked, revoked_raw = api_token_create(tenant=personas.tenant, name="a", created_by=None)
    _, expired_raw = api_token_create(
        tenant=personas.tenant,
        name="b",
        created_by=None,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    api_token_revoke(token=revoked)
    first = ApiToken.objects.get(pk=revoked.pk).revoked_at
    api_token_revoke(token=ApiToken.objects.get(pk=revoked.pk))
    assert ApiToken.objects.get(pk=revoked.pk).revoked_at == first
    assert api_token_authenticate(revoked_raw) is None
    assert api_token_authenticate(expired_raw) is None


def test_a_token_opens_only_its_own_tenant_with_its_role(personas, tenant_factory):
    _, raw = api_token_create(tenant=personas.tenant, name="ci", created_by=None, role=Role.VIEWER)
    token = api_token_authenticate(raw)
    access = tenant_access_for_token(token, "acme")
    assert (access.tenant, access.role) == (personas.tenant, Role.VIEWER)
    with pytest.raises(PermissionDenied):
        tenant_access_for_token(token, "acme", min_role=Role.MEMBER)
    with pytest.raises(Http404):
        tenant_access_for_token(token, "globex")
    with pytest.raises(Http404):
        tenant_access_for_token(None, "acme")


def test_a_token_revoked_after_authentication_opens_nothing(personas):
    _token, raw = api_token_create(tenant=personas.tenant, name="ci", created_by=None)
    authenticated = api_token_authenticate(raw)
    api_token_revoke(token=authenticated)
    with pytest.raises(Http404):
        tenant_access_for_token(authenticated, "acme")


@pytest.mark.django_db(transaction=True)
async def test_the_async_twins_answer_like_the_sync_helpers(personas):
    access = await atenant_access_for_user(personas.member, "acme", min_role=Role.MEMBER)
    assert access.role == Role.MEMBER
    with pytest.raises(Http404):
        await atenant_access_for_user(personas.outsider, "acme")
    with pytest.raises(PermissionDenied):
        await atenant_access_for_user(personas.viewer, "acme", min_role=Role.OWNER)

    _, raw = await database_sync_to_async(api_token_create)(
        tenant=personas.tenant, name="ci", created_by=None
    )
    token = await aapi_token_authenticate(raw)
    assert (await atenant_access_for_token(token, "acme")).tenant.pk == personas.tenant.pk
    with pytest.raises(Http404):
        await atenant_access_for_token(token, "globex")
