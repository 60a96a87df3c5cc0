"""The few GHL calls a sign-in makes: code exchange, user, location(s), locationToken.

Errors become :class:`HighLevelError` with a message safe to show the user:
GHL's own error text, never a token or the client secret.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.conf import settings

from config.logging import redact
from tenants.highlevel.grants import (
    COMPANY,
    LOCATION,
    GrantInvalidError,
    HighLevelGrant,
    grant_parse,
)

logger = logging.getLogger(__name__)

API_VERSION = "2021-07-28"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Listing sub-accounts only adds names to a page: better a page without them than a slow one.
LISTING_SECONDS = 4.0
LISTING_PAGE_SIZE = 100
LISTING_MAX_PAGES = 5
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
    except GrantInvalidError as exc:
        raise HighLevelError(str(exc)) from None


@dataclass(frozen=True)
class InstalledLocation:
    location_id: str
    name: str
    address: str


def _installed_location(row: object) -> InstalledLocation | None:
    if not isinstance(row, dict):
        return None
    location_id, name, address = row.get("_id"), row.get("name"), row.get("address")
    if not isinstance(location_id, str) or not location_id or not isinstance(name, str):
        return None
    return InstalledLocation(
        location_id=location_id,
        name=name.strip()[:200],
        address=address.strip()[:300] if isinstance(address, str) else "",
    )


def installed_locations(
    *, agency: HighLevelGrant, app_id: str, wanted: Collection[str]
) -> dict[str, InstalledLocation]:
    """The agency's sub-accounts where the app is installed, by id.

    ``GET /oauth/installedLocations`` with the agency token (scope ``oauth.readonly``).
    Reads pages until every ``wanted`` id is found, the list ends, or after
    ``LISTING_MAX_PAGES`` pages. Raises :class:`HighLevelError` when GHL
    refuses (a token without ``oauth.readonly``, a wrong app id) or all pages
    take longer than ``LISTING_SECONDS``.
    """
    found: dict[str, InstalledLocation] = {}
    deadline = time.monotonic() + LISTING_SECONDS
    for page in range(LISTING_MAX_PAGES):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise HighLevelError("HighLevel took too long to list the sub-accounts.")
        params = {
            "companyId": agency.company_id,
            "appId": app_id,
            "isInstalled": "true",
            "skip": str(page * LISTING_PAGE_SIZE),
            "limit": str(LISTING_PAGE_SIZE),
        }
        response = _send(
            "GET",
            "/oauth/installedLocations",
            params=params,
            headers=_api_headers(agency.access_token),
            timeout=httpx.Timeout(remaining, connect=min(remaining, 2.0)),
        )
        rows = _json_of(response, "list of sub-accounts").get("locations")
        if not isinstance(rows, list):
            raise HighLevelError("HighLevel answered the list of sub-accounts without locations.")
        for location in filter(None, map(_installed_location, rows)):
            found[location.location_id] = location
        if len(rows) < LISTING_PAGE_SIZE or set(wanted) <= found.keys():
            break
    return found
