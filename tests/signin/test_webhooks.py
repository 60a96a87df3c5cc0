"""POST /webhooks/ghl: signed INSTALL and UNINSTALL events, acted on once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.test import Client

from mcpbridge.sandbox import COMPANY_ID, DENTAL, ROOFING, Sandbox
from tenants.credentials import (
    TenantInactiveError,
    TenantSecretMissingError,
    get_tenant_secrets,
    get_valid_token,
)
from tenants.models import Tenant, TenantSecret, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/webhooks/ghl"


def post(client: Client, body: bytes, headers: dict[str, str]):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    extra.pop("HTTP_CONTENT_TYPE", None)
    return client.post(URL, data=body, content_type="application/json", **extra)


def deliver(client: Client, sandbox: Sandbox, event: dict, scheme: str = "ed25519"):
    body, headers = sandbox.webhooks.signed(event, scheme)
    return post(client, body, headers)


@pytest.fixture
def connected(highlevel, sign_in) -> Tenant:
    sign_in(Client(), location_id=DENTAL)
    return Tenant.objects.get(location_id=DENTAL)


def api_status(sandbox: Sandbox, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    return httpx.get(f"{sandbox.url}/locations/{DENTAL}", headers=headers, timeout=10).status_code


def test_a_signed_uninstall_removes_the_tenants_credentials(
    client, highlevel, connected, changes
) -> None:
    old_token = TenantSecret.objects.get().access_token
    highlevel.webhooks.revoke_location(DENTAL)  # what GHL does to the tokens

    response = deliver(client, highlevel, highlevel.webhooks.event("UNINSTALL", location_id=DENTAL))

    assert response.status_code == 200
    assert response.json() == {"status": f"uninstalled: {connected.slug}"}
    connected.refresh_from_db()
    assert connected.status == Tenant.Status.UNINSTALLED
    assert not TenantSecret.objects.exists()
    after_login = [c for c in changes if c["reason"] != "login"]
    assert {c["reason"] for c in after_login} == {"uninstall", "deleted"}
    assert all(c["revoke"] for c in after_login)
    assert all(c["tenant_id"] == connected.pk for c in after_login)
    with pytest.raises(TenantSecretMissingError):
        get_tenant_secrets(connected)
    with pytest.raises(TenantSecretMissingError):
        get_valid_token(connected)
    assert api_status(highlevel, old_token) == 401


def test_an_uninstalled_tenant_shows_reconnect_and_signing_in_restores_it(
    highlevel, connected, sign_in
) -> None:
    owner = Client()
    sign_in(owner, location_id=DENTAL)
    deliver(Client(), highlevel, highlevel.webhooks.event("UNINSTALL", location_id=DENTAL))
    assert "Reconnect HighLevel" in owner.get("/").content.decode()

    sign_in(owner, location_id=DENTAL)

    connected.refresh_from_db()
    assert connected.status == Tenant.Status.ACTIVE
    assert get_valid_token(connected)
    assert "Reconnect HighLevel" not in owner.get("/").content.decode()


def test_the_legacy_rsa_signature_is_accepted(client, highlevel, connected) -> None:
    event = highlevel.webhooks.event("UNINSTALL", location_id=DENTAL)
    response = deliver(client, highlevel, event, scheme="rsa")
    assert response.status_code == 200
    assert Tenant.objects.get().status == Tenant.Status.UNINSTALLED


def test_an_unsigned_event_is_refused(client, highlevel, connected) -> None:
    event = highlevel.webhooks.event("UNINSTALL", location_id=DENTAL)
    response = deliver(client, highlevel, event, scheme="none")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert Tenant.objects.get().status == Tenant.Status.ACTIVE
    assert TenantSecret.objects.exists()


def test_a_tampered_body_is_refused(client, highlevel, connected) -> None:
    body, headers = highlevel.webhooks.signed(
        highlevel.webhooks.event("INSTALL", location_id=DENTAL)
    )
    tampered = body.replace(b"INSTALL", b"UNINSTALL")
    response = post(client, tampered, headers)
    assert response.status_code == 401
    assert Tenant.objects.get().status == Tenant.Status.ACTIVE


def test_a_signature_from_another_key_is_refused(client, highlevel, connected) -> None:
    with Sandbox() as impostor:
        event = impostor.webhooks.event("UNINSTALL", location_id=DENTAL)
        for scheme in ("ed25519", "rsa"):
            response = deliver(client, impostor, event, scheme=scheme)
            assert response.status_code == 401, scheme
    assert TenantSecret.objects.exists()


def test_a_bad_ed25519_signature_is_not_rescued_by_a_legacy_one(
    client, highlevel, connected
) -> None:
    body, headers = highlevel.webhooks.signed(
        highlevel.webhooks.event("UNINSTALL", location_id=DENTAL), "both"
    )
    headers["X-GHL-Signature"] = headers["X-GHL-Signature"][::-1]
    assert post(client, body, headers).status_code == 401


def test_a_garbled_signature_is_refused(client, highlevel, connected) -> None:
    body, _ = highlevel.webhooks.signed(highlevel.webhooks.event("UNINSTALL", location_id=DENTAL))
    response = post(client, body, {"X-GHL-Signature": "not base64 at all!"})
    assert response.status_code == 401
    assert "base64" in response.json()["message"]


def test_a_scheme_switched_off_by_setting_is_refused(
    client, highlevel, connected, settings
) -> None:
    settings.GHL_WEBHOOK_LEGACY_PUBLIC_KEY = ""
    event = highlevel.webhooks.event("UNINSTALL", location_id=DENTAL)
    assert deliver(client, highlevel, event, scheme="rsa").status_code == 401


def test_a_replayed_event_is_harmless(client, highlevel, connected, sign_in, changes) -> None:
    body, headers = highlevel.webhooks.signed(
        highlevel.webhooks.event("UNINSTALL", location_id=DENTAL)
    )
    assert post(client, body, headers).status_code == 200
    sign_in(Client(), location_id=DENTAL)  # the user connects again at once
    count = len(changes)

    replayed = post(client, body, headers)

    assert replayed.status_code == 200
    assert replayed.json() == {"status": "duplicate"}
    assert Tenant.objects.get().status == Tenant.Status.ACTIVE
    assert TenantSecret.objects.exists()
    assert len(changes) == count
    assert WebhookEvent.objects.count() == 1


def test_an_old_event_is_refused(client, highlevel, connected) -> None:
    event = highlevel.webhooks.event("UNINSTALL", location_id=DENTAL)
    event["timestamp"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = deliver(client, highlevel, event)
    assert response.status_code == 400
    assert "outside the accepted window" in response.json()["message"]
    assert TenantSecret.objects.exists()


@pytest.mark.parametrize("timestamp", ["missing", None, ""])
def test_a_signed_event_without_a_timestamp_is_refused_and_changes_nothing(
    client, highlevel, connected, timestamp
) -> None:
    event = highlevel.webhooks.event("UNINSTALL", location_id=DENTAL)
    if timestamp == "missing":
        del event["timestamp"]
    else:
        event["timestamp"] = timestamp
    response = deliver(client, highlevel, event)
    assert (response.status_code, response.json()["code"]) == (400, "rejected")
    assert "timestamp" in response.json()["message"]
    assert TenantSecret.objects.exists()
    assert Tenant.objects.get().status == Tenant.Status.ACTIVE
    assert not WebhookEvent.objects.exists()


def test_a_timestamp_without_a_zone_is_read_as_utc(client, highlevel, connected) -> None:
    event = highlevel.webhooks.event("UNINSTALL", location_id=DENTAL)
    event["timestamp"] = datetime.now(UTC).replace(tzinfo=None).isoformat()
    response = deliver(client, highlevel, event)
    assert response.status_code == 200
    assert response.json()["status"].startswith("uninstalled")
    assert not TenantSecret.objects.exists()


def test_an_uninstall_older_than_the_current_connection_leaves_it_alone(
    client, highlevel, connected
) -> None:
    event = highlevel.webhooks.event("UNINSTALL", location_id=DENTAL)
    event["timestamp"] = (TenantSecret.objects.get().created_at - timedelta(seconds=5)).isoformat()
    response = deliver(client, highlevel, event)
    assert response.status_code == 200
    assert response.json()["status"].startswith("ignored")
    assert Tenant.objects.get().status == Tenant.Status.ACTIVE


def test_an_event_without_id_is_deduplicated_by_its_body(client, highlevel, connected) -> None:
    event = highlevel.webhooks.event("UNINSTALL", location_id=DENTAL)
    del event["webhookId"]
    first = deliver(client, highlevel, event)
    second = deliver(client, highlevel, event)
    assert first.json()["status"].startswith("uninstalled")
    assert second.json() == {"status": "duplicate"}


def test_an_agency_uninstall_covers_every_sub_account_of_the_agency(
    client, highlevel, sign_in
) -> None:
    sign_in(Client(), location_id=DENTAL)
    sign_in(Client(), location_id=ROOFING)
    event = highlevel.webhooks.event("UNINSTALL", company_id=COMPANY_ID)

    response = deliver(client, highlevel, event)

    assert response.status_code == 200
    assert set(Tenant.objects.values_list("status", flat=True)) == {Tenant.Status.UNINSTALLED}
    assert not TenantSecret.objects.exists()


def test_an_install_is_recorded_without_touching_credentials(client, highlevel, connected) -> None:
    version = TenantSecret.objects.get().version
    response = deliver(client, highlevel, highlevel.webhooks.event("INSTALL", location_id=DENTAL))
    assert response.status_code == 200
    assert response.json() == {"status": f"recorded for {connected.slug}"}
    assert TenantSecret.objects.get().version == version
    assert WebhookEvent.objects.get().event_type == "INSTALL"


def test_an_uninstall_for_an_unknown_location_is_acknowledged(client, highlevel) -> None:
    response = deliver(
        client, highlevel, highlevel.webhooks.event("UNINSTALL", location_id=ROOFING)
    )
    assert response.status_code == 200
    assert response.json()["status"].startswith("ignored")


def test_bad_bodies_get_clear_errors(client, highlevel) -> None:
    deep = b"[" * 30000 + b"]" * 30000  # under 64 KB, deeper than any parser recurses
    # Signed and fresh, yet with half a surrogate pair, which no database stores.
    lone = f'{{"type": "\\ud800", "timestamp": "{datetime.now(UTC).isoformat()}"}}'.encode()
    for body, error in (
        (b"not json", "invalid_json"),
        (deep, "invalid_json"),
        (lone, "invalid_json"),
        (b"[1]", "rejected"),
        (b"{}", "rejected"),
    ):
        response = post(client, body, highlevel.webhooks.sign(body))
        assert response.status_code == 400, body
        assert response.json()["code"] == error
    bad_time = json.dumps({"type": "INSTALL", "timestamp": "yesterday"}).encode()
    assert post(client, bad_time, highlevel.webhooks.sign(bad_time)).status_code == 400


def test_only_post_is_allowed(client, highlevel) -> None:
    assert client.get(URL).status_code == 405


def test_an_oversized_body_is_refused(client, highlevel) -> None:
    body = b"{" + b" " * (65 * 1024) + b"}"
    assert post(client, body, highlevel.webhooks.sign(body)).status_code == 413


def test_the_sandbox_delivers_an_uninstall_over_http(live_server, highlevel, sign_in) -> None:
    sign_in(Client(), location_id=DENTAL)
    token = TenantSecret.objects.get().access_token

    answer = highlevel.webhooks.uninstall(DENTAL, url=f"{live_server.url}{URL}")

    assert answer.status_code == 200
    assert Tenant.objects.get().status == Tenant.Status.UNINSTALLED
    assert api_status(highlevel, token) == 401
    with pytest.raises((TenantSecretMissingError, TenantInactiveError)):
        get_valid_token(Tenant.objects.get())
