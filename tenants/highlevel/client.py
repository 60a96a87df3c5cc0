"""The few GHL calls a sign-in makes: code exchange, user, location, locationToken.

Errors become :class:`HighLevelError` with a message safe to show the user:
GHL's own error text, never a token or the client secret.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import httpx
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.conf import settings

from config.logging import redact
from tenants.highlevel.grants import COMPANY, LOCATION, GrantInvalid, HighLevelGrant, grant_parse

logger = logging.getLogger(__name__)

API_VERSION = "2021-07-28"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_MAX_MESSAGE = 300


class HighLevelError(OAuth2Error):
    """GHL refused or could not be reached; ``unreachable`` tells the two apart."""

    def __init__(self, message: str, *, unreachable: bool = False, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.unreachable = unreachable
        self.status = status


def _url(path: str) -> str:
    return settings.GHL_BASE_URL.rstrip("/") + path


def _error_text(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("error_description") or body.get("message") or body.get("error") or ""
    if isinstance(message, list):
        message = "; ".join(str(item) for item in message)
    return redact(str(message))[:_MAX_MESSAGE] or response.reason_phrase


@functools.cache
def _http() -> httpx.Client:
    # One pooled client per process: building one (its TLS context) costs tens of ms.
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False)


def _send(method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return _http().request(method, _url(path), **kwargs)
    except httpx.HTTPError as exc:
        logger.warning("GHL %s %s failed: %s", method, path, type(exc).__name__)
        raise HighLevelError(
            "HighLevel could not be reached. Please try again in a moment.", unreachable=True
        ) from None


def _json_of(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 500:
        raise HighLevelError(
            f"HighLevel is having trouble ({what} answered {response.status_code}). "
            "Please try again in a moment.",
            unreachable=True,
            status=response.status_code,
        )
    if response.status_code not in (200, 201):
        raise HighLevelError(
            f"HighLevel refused the {what}: {_error_text(response)}", status=response.status_code
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise HighLevelError(f"HighLevel answered the {what} with something unreadable.")
    return body


def _exchange(*, code: str, redirect_uri: str, user_type: str, app: Any) -> httpx.Response:
    form = {
        "client_id": app.client_id,
        "client_secret": app.secret,
        "grant_type": "authorization_code",
        "code": code,
        "user_type": user_type,
        "redirect_uri": redirect_uri,
    }
    return _send("POST", "/oauth/token", data=form, headers={"Accept": "application/json"})


def _wants_company(response: httpx.Response) -> bool:
    return response.status_code in (400, 401, 422) and COMPANY in _error_text(response)


def code_exchange(*, code: str, redirect_uri: str, app: Any) -> dict[str, Any]:
    """Exchange an authorisation code for GHL's token response.

    Sub-account tokens are asked for first; when the user chose the agency on
    GHL's screen GHL answers that the code is for a Company, and the exchange
    is repeated with ``user_type=Company``.
    """
    response = _exchange(code=code, redirect_uri=redirect_uri, user_type=LOCATION, app=app)
    if _wants_company(response):
        response = _exchange(code=code, redirect_uri=redirect_uri, user_type=COMPANY, app=app)
    return _json_of(response, "sign-in")


def _api_get(path: str, access_token: str) -> dict[str, Any] | None:
    """A best-effort read: None when GHL refuses or fails (the sign-in goes on without it)."""
    try:
        response = _send("GET", path, headers=_api_headers(access_token))
        return _json_of(response, f"GET {path}")
    except HighLevelError as exc:
        logger.info("GHL %s unavailable during sign-in: %s", path, exc.message)
        return None


def _api_headers(access_token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {access_token}",
        "Version": API_VERSION,
        "Accept": "application/json",
    }


def user_profile(grant: HighLevelGrant) -> dict[str, str]:
    """The signed-in user's name and email, when the granted scopes allow reading them."""
    if not grant.allows("users.readonly"):
        return {}
    body = _api_get(f"/users/{grant.user_id}", grant.access_token) or {}
    profile = {key: body.get(key) for key in ("name", "firstName", "lastName", "email")}
    return {key: value.strip() for key, value in profile.items() if isinstance(value, str)}


def location_name(*, access_token: str, location_id: str, scope: str) -> str:
    """The sub-account's name, when the token may read it; empty otherwise."""
    if "locations.readonly" not in scope.split():
        return ""
    body = _api_get(f"/locations/{location_id}", access_token) or {}
    location = body.get("location")
    name = location.get("name") if isinstance(location, dict) else None
    return name.strip()[:200] if isinstance(name, str) else ""


def location_token(*, agency: HighLevelGrant, location_id: str) -> HighLevelGrant:
    """A sub-account token obtained with an agency token (``POST /oauth/locationToken``)."""
    response = _send(
        "POST",
        "/oauth/locationToken",
        data={"companyId": agency.company_id, "locationId": location_id},
        headers=_api_headers(agency.access_token),
    )
    body = _json_of(response, "sub-account token")
    body.setdefault("locationId", location_id)
    body.setdefault("userType", LOCATION)
    try:
        return grant_parse(body, user_id=agency.user_id, company_id=agency.company_id)
    except GrantInvalid as exc:
        raise HighLevelError(str(exc)) from None
