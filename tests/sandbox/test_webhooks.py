"""The sandbox signs app events like GHL, and uninstalling kills a location's tokens."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from mcpbridge.sandbox import COMPANY_ID, DENTAL, ROOFING, Sandbox


def test_events_are_signed_with_both_schemes(ghl_sandbox: Sandbox) -> None:
    sender = ghl_sandbox.webhooks
    body, headers = sender.signed(sender.event("UNINSTALL", location_id=DENTAL), "both")
    ed25519 = serialization.load_pem_public_key(sender.public_key_pem.encode())
    rsa = serialization.load_pem_public_key(sender.legacy_public_key_pem.encode())

    ed25519.verify(base64.b64decode(headers["X-GHL-Signature"]), body)
    rsa.verify(
        base64.b64decode(headers["X-WH-Signature"]), body, padding.PKCS1v15(), hashes.SHA256()
    )
    with pytest.raises(InvalidSignature):
        ed25519.verify(base64.b64decode(headers["X-GHL-Signature"]), body + b" ")
    event = json.loads(body)
    assert (event["type"], event["locationId"], event["companyId"]) == (
        "UNINSTALL",
        DENTAL,
        COMPANY_ID,
    )
    assert event["webhookId"]
    assert event["timestamp"]


def test_uninstalling_revokes_only_that_locations_tokens(ghl_sandbox: Sandbox) -> None:
    dental = ghl_sandbox.mint_tokens(DENTAL)
    roofing = ghl_sandbox.mint_tokens(ROOFING)

    assert ghl_sandbox.webhooks.revoke_location(DENTAL) == 2

    def status(location: str, token: str) -> int:
        headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
        return httpx.get(f"{ghl_sandbox.url}/locations/{location}", headers=headers).status_code

    refreshed = httpx.post(
        f"{ghl_sandbox.url}/oauth/token",
        data={
            "client_id": ghl_sandbox.state.client_id,
            "client_secret": ghl_sandbox.state.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": dental["refresh_token"],
        },
    )
    assert status(DENTAL, dental["access_token"]) == 401
    assert refreshed.json()["error"] == "invalid_grant"
    assert status(ROOFING, roofing["access_token"]) == 200


def test_the_uninstall_page_says_when_no_app_listens(ghl_sandbox: Sandbox) -> None:
    page = httpx.post(f"{ghl_sandbox.url}/sandbox/uninstall", data={"location_id": DENTAL})
    assert page.status_code == 200
    assert "the webhook was not delivered" in page.text
    unknown = httpx.post(f"{ghl_sandbox.url}/sandbox/uninstall", data={"location_id": "nope"})
    assert unknown.status_code == 400


def test_sending_needs_a_url(ghl_sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="no webhook URL"):
        ghl_sandbox.webhooks.send(ghl_sandbox.webhooks.event("INSTALL", location_id=DENTAL))
