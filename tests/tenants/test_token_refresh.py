from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from tenants import credentials, oauth
from tenants.credentials import (
    TenantInactiveError,
    TenantNeedsReauthError,
    TenantSecretMissingError,
    TenantSecretUnreadableError,
    TokenRefreshFailedError,
    get_tenant_secrets,
    get_valid_token,
    tenant_token_refresh,
)
from tenants.models import Tenant, TenantSecret

pytestmark = pytest.mark.django_db

SOON = timedelta(minutes=2)
LATER = timedelta(hours=20)


@pytest.fixture
def expiring(tenant_factory, ghl_token_server):
    """A tenant whose token expires within the margin, with a live refresh token at GHL."""
    ghl_token_server.state.live_refresh_tokens.add("refresh-0")
    return tenant_factory("acme", access_token="access-0", expires_in=SOON)


def stored(tenant: Tenant) -> TenantSecret:
    return TenantSecret.objects.select_related("tenant").get(tenant=tenant)


def test_a_token_valid_beyond_the_margin_is_returned_without_asking_ghl(
    tenant_factory, ghl_token_server
):
    tenant = tenant_factory(access_token="access-0", expires_in=LATER)
    assert get_valid_token(tenant) == "access-0"
    assert ghl_token_server.state.refresh_requests == []


def test_an_expiring_token_is_refreshed_and_the_new_pair_stored(
    expiring, ghl_token_server, changes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        token = get_valid_token(expiring)

    assert token == "access-1"
    [request] = ghl_token_server.state.refresh_requests
    assert request == {
        "grant_type": "refresh_token",
        "client_id": "hub-client-id",
        "client_secret": "hub-client-secret-0123456789",
        "refresh_token": "refresh-0",
        "user_type": "Location",
        "content_type": "application/x-www-form-urlencoded",
    }
    secret = stored(expiring)
    assert (secret.access_token, secret.refresh_token, secret.version) == (
        "access-1",
        "refresh-1",
        2,
    )
    assert secret.expires_at - timezone.now() > timedelta(hours=23)
    assert secret.last_refreshed_at is not None
    assert changes == [
        {
            "tenant_id": expiring.pk,
            "tenant_slug": "acme",
            "version": 2,
            "reason": "refresh",
            "revoke": False,
        }
    ]
    assert get_valid_token(expiring) == "access-1"
    assert len(ghl_token_server.state.refresh_requests) == 1


def test_the_margin_comes_from_settings(tenant_factory, ghl_token_server, settings):
    ghl_token_server.state.live_refresh_tokens.add("refresh-0")
    tenant = tenant_factory(access_token="access-0", expires_in=timedelta(minutes=30))
    assert get_valid_token(tenant) == "access-0"
    settings.GHL_TOKEN_REFRESH_MARGIN = 3600
    assert get_valid_token(tenant) == "access-1"
    assert get_valid_token(tenant, margin=timedelta(0)) == "access-1"


def test_a_rejected_refresh_token_marks_the_tenant_needs_reauth_with_a_reason(
    expiring, ghl_token_server
):
    ghl_token_server.state.live_refresh_tokens.clear()

    with pytest.raises(TenantNeedsReauthError, match="acme") as caught:
        get_valid_token(expiring)

    assert "refresh token is invalid" in caught.value.message
    expiring.refresh_from_db()
    assert expiring.status == Tenant.Status.NEEDS_REAUTH
    assert "GHL rejected the refresh token" in expiring.status_reason
    assert not expiring.is_usable
    secret = stored(expiring)
    assert (secret.access_token, secret.refresh_token, secret.version) == (
        "access-0",
        "refresh-0",
        1,
    )
    assert "invalid" in secret.last_error
    with pytest.raises(TenantNeedsReauthError):
        get_valid_token(expiring)
    assert len(ghl_token_server.state.refresh_requests) == 1


def test_server_errors_are_retried_with_backoff_and_then_succeed(expiring, ghl_token_server):
    ghl_token_server.state.script.extend([(502, {"message": "Bad Gateway"}), "drop"])
    assert get_valid_token(expiring) == "access-1"
    assert len(ghl_token_server.state.refresh_requests) == 3
    assert stored(expiring).last_error == ""


def test_lasting_server_errors_keep_the_stored_tokens_while_they_are_valid(
    expiring, ghl_token_server
):
    ghl_token_server.state.script.extend([(503, {"message": "Service Unavailable"})] * 4)

    assert get_valid_token(expiring) == "access-0"

    assert len(ghl_token_server.state.refresh_requests) == 4
    secret = stored(expiring)
    assert (secret.access_token, secret.refresh_token, secret.version) == (
        "access-0",
        "refresh-0",
        1,
    )
    assert "503" in secret.last_error
    expiring.refresh_from_db()
    assert expiring.status == Tenant.Status.ACTIVE


def test_after_a_failed_refresh_callers_do_not_hammer_ghl(expiring, ghl_token_server):
    ghl_token_server.state.script.extend([(503, {"message": "Service Unavailable"})] * 4)
    get_valid_token(expiring)
    assert get_valid_token(expiring) == "access-0"
    assert len(ghl_token_server.state.refresh_requests) == 4


def test_an_expired_token_that_cannot_be_refreshed_is_a_clear_error(
    tenant_factory, ghl_token_server
):
    tenant = tenant_factory("acme", expires_in=-timedelta(minutes=1))
    ghl_token_server.state.script.extend([(500, {})] * 4)
    with pytest.raises(TokenRefreshFailedError, match="acme") as caught:
        get_valid_token(tenant)
    assert caught.value.permanent is False
    assert "refresh-0" not in caught.value.message


def test_an_unreachable_token_endpoint_keeps_the_stored_tokens(expiring, settings, closed_port):
    settings.GHL_BASE_URL = f"http://127.0.0.1:{closed_port}"
    assert get_valid_token(expiring) == "access-0"
    assert "unreachable" in stored(expiring).last_error


def test_a_refused_client_is_permanent_and_not_retried(expiring, ghl_token_server, settings):
    settings.GHL_CLIENT_SECRET = "wrong"
    with pytest.raises(TokenRefreshFailedError) as caught:
        get_valid_token(expiring)
    assert caught.value.permanent is True
    assert "401" in caught.value.message
    assert len(ghl_token_server.state.refresh_requests) == 1
    assert stored(expiring).access_token == "access-0"
    expiring.refresh_from_db()
    assert expiring.status == Tenant.Status.ACTIVE


def test_a_success_without_tokens_is_not_retried_and_keeps_the_stored_tokens(
    expiring, ghl_token_server
):
    ghl_token_server.state.script.append((200, {"token_type": "Bearer"}))
    with pytest.raises(TokenRefreshFailedError, match="without an access token"):
        get_valid_token(expiring)
    assert len(ghl_token_server.state.refresh_requests) == 1
    assert stored(expiring).refresh_token == "refresh-0"


@pytest.mark.parametrize("body", [["not", "an", "object"], b"<html>Forbidden</html>"])
def test_an_error_body_that_is_not_a_json_object_still_gives_a_reason(
    expiring, ghl_token_server, body
):
    ghl_token_server.state.script.append((403, body))
    with pytest.raises(TokenRefreshFailedError, match="403: Forbidden"):
        get_valid_token(expiring)


def test_a_success_that_is_not_json_keeps_the_stored_tokens(expiring, ghl_token_server):
    ghl_token_server.state.script.append((200, b"<html>maintenance</html>"))
    with pytest.raises(TokenRefreshFailedError, match="without an access token"):
        get_valid_token(expiring)
    assert stored(expiring).refresh_token == "refresh-0"


def test_a_private_integration_token_without_refresh_token_is_used_until_it_expires(
    tenant_factory, ghl_token_server
):
    tenant = tenant_factory("pit-co", access_token="pit-abc", refresh_token="", expires_in=SOON)
    assert get_valid_token(tenant) == "pit-abc"
    assert ghl_token_server.state.refresh_requests == []


def test_an_expired_token_without_refresh_token_needs_reauth(tenant_factory, ghl_token_server):
    tenant = tenant_factory("pit-co", refresh_token="", expires_in=-timedelta(seconds=1))
    with pytest.raises(TenantNeedsReauthError, match="no refresh token"):
        get_valid_token(tenant)
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.NEEDS_REAUTH


def test_a_token_without_expiry_is_always_valid(tenant_factory, ghl_token_server):
    tenant = tenant_factory(access_token="pit-abc", expires_in=None)
    assert get_valid_token(tenant) == "pit-abc"
    assert ghl_token_server.state.refresh_requests == []


@pytest.mark.parametrize("status", [Tenant.Status.DISABLED, Tenant.Status.UNINSTALLED])
def test_an_inactive_tenant_gets_no_token(tenant_factory, status):
    tenant = tenant_factory("acme", status=status)
    with pytest.raises(TenantInactiveError, match="acme"):
        get_valid_token(tenant)


def test_a_tenant_without_credentials_gets_no_token(tenant_factory):
    with pytest.raises(TenantSecretMissingError):
        get_valid_token(tenant_factory(access_token=None))


def test_an_unreadable_secret_gets_no_token(tenant_factory, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["a-key-that-will-be-lost-0123456789abcdef"]
    tenant = tenant_factory("acme")
    settings.FIELD_ENCRYPTION_KEYS = ["the-only-key-left-now-0123456789abcdefgh"]
    with pytest.raises(TenantSecretUnreadableError, match="acme"):
        get_valid_token(tenant)


def test_refresh_now_refreshes_a_token_that_is_still_valid(tenant_factory, ghl_token_server):
    ghl_token_server.state.live_refresh_tokens.add("refresh-0")
    tenant = tenant_factory(expires_in=LATER)
    assert tenant_token_refresh(tenant=tenant) == 2
    assert get_tenant_secrets(tenant).access_token == "access-1"


def test_refresh_now_ignores_the_failure_cooldown(expiring, ghl_token_server):
    ghl_token_server.state.script.extend([(503, {})] * 4)
    get_valid_token(expiring)
    assert tenant_token_refresh(tenant=expiring) == 2


def test_a_token_endpoint_error_description_is_redacted(expiring, ghl_token_server):
    ghl_token_server.state.script.append(
        (400, {"error": "invalid_request", "error_description": "bad refresh_token=refresh-0"})
    )
    with pytest.raises(TokenRefreshFailedError) as caught:
        get_valid_token(expiring)
    assert "refresh-0" not in caught.value.message
    assert "refresh-0" not in stored(expiring).last_error


def test_the_token_url_is_built_from_the_base_url(settings):
    settings.GHL_BASE_URL = "https://services.example.test/"
    assert oauth.token_url() == "https://services.example.test/oauth/token"


@pytest.mark.django_db(transaction=True)
async def test_the_async_twin_returns_a_fresh_token_and_refreshes_an_expiring_one(
    tenant_factory, ghl_token_server
):
    ghl_token_server.state.live_refresh_tokens.add("refresh-0")
    fresh = await database_sync_to_async(tenant_factory)(access_token="fresh-0", expires_in=LATER)
    soon = await database_sync_to_async(tenant_factory)(expires_in=SOON)

    assert await credentials.aget_valid_token(fresh) == "fresh-0"
    assert await credentials.aget_valid_token(soon) == "access-1"
    assert len(ghl_token_server.state.refresh_requests) == 1


@pytest.mark.django_db(transaction=True)
async def test_the_token_version_is_read_as_is_and_moves_on_after_a_due_refresh(
    tenant_factory, ghl_token_server
):
    ghl_token_server.state.live_refresh_tokens.add("refresh-0")
    fresh = await database_sync_to_async(tenant_factory)(access_token="fresh-0", expires_in=LATER)
    soon = await database_sync_to_async(tenant_factory)(expires_in=SOON)
    before = await database_sync_to_async(lambda: stored(soon).version)()

    assert await credentials.aget_valid_token_version(fresh) == 1
    assert await credentials.aget_valid_token_version(soon) == before + 1
    assert len(ghl_token_server.state.refresh_requests) == 1


@pytest.mark.django_db(transaction=True)
async def test_the_token_version_of_a_tenant_without_credentials_is_refused(tenant_factory):
    bare = await database_sync_to_async(tenant_factory)(access_token=None)
    with pytest.raises(TenantSecretMissingError):
        await credentials.aget_valid_token_version(bare)
