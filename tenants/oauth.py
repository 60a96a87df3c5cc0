"""GHL's OAuth token endpoint: exchange a refresh token for a new token pair.

GHL refresh tokens are single-use: a successful refresh kills the old one.
Callers must therefore serialise refreshes per tenant (see
:mod:`tenants.credentials`); this module only speaks the protocol and retries
what is worth retrying (network errors, 429 and 5xx).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from config.logging import redact

logger = logging.getLogger(__name__)

# Delays before each retry; the number of attempts is one more than this.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_MAX_DESCRIPTION = 300


class OAuthError(Exception):
    """The token endpoint refused or could not be reached; ``permanent`` says if retrying helps."""

    def __init__(self, description: str, *, code: str = "", permanent: bool) -> None:
        super().__init__(description)
        self.description = description
        self.code = code
        self.permanent = permanent


class InvalidGrantError(OAuthError):
    """GHL rejected the refresh token (used already, revoked, or the app was uninstalled)."""

    def __init__(self, description: str) -> None:
        super().__init__(description, code="invalid_grant", permanent=True)


@dataclass(frozen=True)
class RefreshedTokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int | None
    scope: str
    token_type: str


def token_url() -> str:
    return settings.GHL_BASE_URL.rstrip("/") + "/oauth/token"


def oauth_token_refresh(*, refresh_token: str, user_type: str = "") -> RefreshedTokens:
    """Ask GHL for a new token pair, retrying network errors, 429 and 5xx with backoff."""
    form = {
        "grant_type": "refresh_token",
        "client_id": settings.GHL_CLIENT_ID,
        "client_secret": settings.GHL_CLIENT_SECRET,
        "refresh_token": refresh_token,
    }
    if user_type:
        form["user_type"] = user_type
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        for delay in (*RETRY_DELAYS, None):
            try:
                return _attempt(client, form)
            except OAuthError as exc:
                if exc.permanent or delay is None:
                    raise
                logger.warning("GHL token refresh failed (%s); retrying", exc.description)
                time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _attempt(client: httpx.Client, form: dict[str, str]) -> RefreshedTokens:
    try:
        response = client.post(token_url(), data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise OAuthError(
            f"GHL token endpoint unreachable: {type(exc).__name__}", permanent=False
        ) from None
    if response.status_code == 200:
        return _parse_tokens(response)
    code, description = _error_of(response)
    if code == "invalid_grant":
        raise InvalidGrantError(description)
    transient = response.status_code == 429 or response.status_code >= 500
    raise OAuthError(
        f"GHL token endpoint answered {response.status_code}: {description}",
        code=code,
        permanent=not transient,
    )


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("error") or "")
    description = str(body.get("error_description") or body.get("message") or code or "")
    description = redact(description)[:_MAX_DESCRIPTION]
    return code, description or response.reason_phrase


def _parse_tokens(response: httpx.Response) -> RefreshedTokens:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        # Not retried: GHL may have spent the old refresh token already, and a
        # second try with it would only turn this into invalid_grant.
        raise OAuthError("GHL answered the refresh without an access token", permanent=True)
    expires_in = body.get("expires_in")
    return RefreshedTokens(
        access_token=body["access_token"],
        refresh_token=str(body.get("refresh_token") or ""),
        expires_in=int(expires_in) if isinstance(expires_in, int | float) else None,
        scope=str(body.get("scope") or ""),
        token_type=str(body.get("token_type") or "Bearer"),
    )
