"""The one GHL OAuth client: its sync and async refreshes share one protocol."""

from __future__ import annotations

import pytest

from tenants import oauth
from tests.tenants.conftest import INVALID_GRANT


def _sent(server) -> list[dict[str, str]]:
    return [
        {key: value for key, value in form.items() if key != "refresh_token"}
        for form in server.state.refresh_requests
    ]


async def test_the_laterrefresh_sends_what_the_sync_one_sends_and_reads_the_same_tokens(
    ghl_token_server,
):
    ghl_token_server.state.live_refresh_tokens.add("refresh-0")
    sync = oauth.oauth_token_refresh(refresh_token="refresh-0", user_type="Location")
    later = await oauth.aoauth_token_refresh(refresh_token=sync.refresh_token, user_type="Location")

    first, second = _sent(ghl_token_server)
    assert first == second
    assert first["grant_type"] == "refresh_token"
    assert (sync.access_token, later.access_token) == ("access-1", "access-2")
    assert later.refresh_token == "refresh-2"
    assert (later.location_id, later.user_type) == (sync.location_id, "Location")


async def test_the_laterrefresh_retries_a_failing_endpoint_then_succeeds(ghl_token_server):
    ghl_token_server.state.live_refresh_tokens.add("refresh-0")
    ghl_token_server.state.script.extend([(503, {"message": "busy"}), "drop"])

    tokens = await oauth.aoauth_token_refresh(refresh_token="refresh-0")

    assert tokens.access_token == "access-1"
    assert len(ghl_token_server.state.refresh_requests) == 3


async def test_the_laterrefresh_gives_up_at_once_on_a_rejected_refresh_token(ghl_token_server):
    ghl_token_server.state.script.append((400, INVALID_GRANT))
    with pytest.raises(oauth.InvalidGrantError) as caught:
        await oauth.aoauth_token_refresh(refresh_token="spent")
    assert caught.value.permanent
    assert caught.value.code == "invalid_grant"
    assert len(ghl_token_server.state.refresh_requests) == 1


def test_a_refresh_request_carries_the_client_and_no_token_in_its_repr(settings):
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = "client-1", "secret-1"
    request = oauth.refresh_request(refresh_token="refresh-secret", user_type="Company")
    assert request.form == {
        "grant_type": "refresh_token",
        "client_id": "client-1",
        "client_secret": "secret-1",
        "refresh_token": "refresh-secret",
        "user_type": "Company",
    }
    assert "refresh-secret" not in repr(request)
    assert "secret-1" not in repr(request)


def test_one_token_type_reads_a_refresh_and_a_sign_in_answer():
    answer = {
        "access_token": "a",
        "refresh_token": "r",
        "expires_in": 86399,
        "scope": "contacts.readonly users.readonly",
        "userType": "Location",
        "locationId": "loc-1",
        "userId": "user-1",
    }
    refreshed = oauth.tokens_parse(answer)
    signed_in = oauth.grant_parse(answer)
    assert refreshed == signed_in
    assert signed_in.allows("users.readonly")
    assert "'a'" not in repr(signed_in)
    with pytest.raises(oauth.GrantInvalidError, match="no userId"):
        oauth.grant_parse({**answer, "userId": ""})
