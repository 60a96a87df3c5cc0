"""GHL's app webhooks, sent by the sandbox: signed like GHL signs them, with test keys.

Each sandbox has its own Ed25519 key (``X-GHL-Signature``) and RSA key (the
legacy ``X-WH-Signature``); an app under test is configured with the public
halves. ``uninstall`` does what GHL does when a location removes the app: its
tokens stop working, and an UNINSTALL event goes to the app's webhook URL.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from mcpbridge.sandbox.seed import APP_ID
from mcpbridge.sandbox.state import SandboxState, new_id

SCHEMES = ("ed25519", "rsa", "both", "none")


def _pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class WebhookSender:
    """Builds, signs and delivers app events for one sandbox."""

    def __init__(self, state: SandboxState, *, target_url: str | None = None) -> None:
        self.state = state
        self.target_url = target_url
        self._ed25519 = Ed25519PrivateKey.generate()
        self._rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @property
    def public_key_pem(self) -> str:
        return _pem(self._ed25519)

    @property
    def legacy_public_key_pem(self) -> str:
        return _pem(self._rsa)

    def event(
        self, event_type: str, *, location_id: str | None = None, company_id: str | None = None
    ) -> dict[str, Any]:
        """A GHL-shaped app event, stamped with the wall clock (the receiver checks its age)."""
        body: dict[str, Any] = {
            "type": event_type,
            "appId": APP_ID,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "webhookId": new_id(),
        }
        with self.state.lock:
            if location_id:
                body["locationId"] = location_id
                body["companyId"] = self.state.data["locations"][location_id]["companyId"]
            elif company_id:
                body["companyId"] = company_id
        return body

    def sign(self, body: bytes, scheme: str = "ed25519") -> dict[str, str]:
        """The signature headers GHL would send with ``body``."""
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}")
        headers = {"Content-Type": "application/json"}
        if scheme in ("ed25519", "both"):
            headers["X-GHL-Signature"] = base64.b64encode(self._ed25519.sign(body)).decode()
        if scheme in ("rsa", "both"):
            signature = self._rsa.sign(body, padding.PKCS1v15(), hashes.SHA256())
            headers["X-WH-Signature"] = base64.b64encode(signature).decode()
        return headers

    def signed(
        self, event: dict[str, Any], scheme: str = "ed25519"
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event, separators=(",", ":")).encode()
        return body, self.sign(body, scheme)

    def _url(self, url: str | None) -> str:
        target = url or self.target_url
        if not target:
            raise ValueError("no webhook URL: pass url= or start the sandbox with one")
        return target

    def send(
        self, event: dict[str, Any], *, url: str | None = None, scheme: str = "ed25519"
    ) -> httpx.Response:
        body, headers = self.signed(event, scheme)
        return httpx.post(self._url(url), content=body, headers=headers, timeout=10)

    async def asend(self, event: dict[str, Any], *, url: str | None = None) -> httpx.Response:
        body, headers = self.signed(event)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(self._url(url), content=body, headers=headers)

    def revoke_location(self, location_id: str) -> int:
        """Remove the app from a location as GHL does: kill its tokens; return how many."""
        killed = 0
        with self.state.lock:
            self.state.app_uninstall(location_id)
            for info in self.state.tokens.values():
                if info.location_id == location_id and not info.revoked:
                    info.revoked = True
                    killed += 1
            for record in self.state.refresh_tokens.values():
                if record.grant.location_id == location_id and not record.used:
                    record.used = True
                    killed += 1
        return killed

    def uninstall(self, location_id: str, *, url: str | None = None) -> httpx.Response:
        """Remove the app from a location: revoke its tokens, then send UNINSTALL."""
        self.revoke_location(location_id)
        return self.send(self.event("UNINSTALL", location_id=location_id), url=url)


def _sender(request: Request) -> WebhookSender:
    return request.app.state.webhooks


async def uninstall_page(request: Request) -> Response:
    sender = _sender(request)
    note = ""
    if request.method == "POST":
        location_id = str((await request.form()).get("location_id", ""))
        if location_id not in sender.state.data["locations"]:
            return HTMLResponse("<p>Unknown location.</p>", status_code=400)
        sender.revoke_location(location_id)
        try:
            answer = await sender.asend(sender.event("UNINSTALL", location_id=location_id))
            note = f"UNINSTALL sent for {location_id}: the app answered {answer.status_code}."
        except (httpx.HTTPError, ValueError) as exc:
            note = f"Tokens of {location_id} revoked; the webhook was not delivered ({exc})."
    with sender.state.lock:
        locations = list(sender.state.data["locations"].values())
    buttons = "".join(
        "<form method='post'><input type='hidden' name='location_id' "
        f"value='{html.escape(loc['id'])}'><button>Uninstall the app from "
        f"{html.escape(loc['name'])}</button></form>"
        for loc in locations
    )
    target = html.escape(sender.target_url or "(none configured)")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Uninstall - GHL sandbox</title>"
        "</head><body style='font-family:system-ui;max-width:40rem;margin:3rem auto'>"
        f"<h1>Uninstall the app</h1><p>Webhook URL: <code>{target}</code></p>"
        f"<p>{html.escape(note)}</p>{buttons}</body></html>"
    )
    return HTMLResponse(page)


routes = [Route("/sandbox/uninstall", uninstall_page, methods=["GET", "POST"])]
