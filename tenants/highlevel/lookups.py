"""What a sign-in reads from GHL besides tokens: the user's and the sub-accounts' names.

Sent through the one GHL client (:mod:`tenants.oauth`), so errors are its
:class:`~tenants.oauth.OAuthError`. Each read is best-effort: a sign-in goes on without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx

from tenants.oauth import GhlRequest, OAuthError, OAuthTokens, answer_json, send

logger = logging.getLogger(__name__)

# Listing sub-accounts only adds names to a page: better a page without them than a slow one.
LISTING_SECONDS = 4.0
LISTING_PAGE_SIZE = 100
LISTING_MAX_PAGES = 5


def _api_get(path: str, access_token: str) -> dict[str, Any] | None:
    """A best-effort read: None when GHL refuses or fails (the sign-in goes on without it)."""
    request = GhlRequest("GET", path, f"GET {path}", bearer=access_token)
    try:
        return answer_json(send(request), request.what)
    except OAuthError as exc:
        logger.info("GHL %s unavailable during sign-in: %s", path, exc.message)
        return None


def user_profile(grant: OAuthTokens) -> dict[str, str]:
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


def _listing_request(agency: OAuthTokens, app_id: str, page: int) -> GhlRequest:
    params = {
        "companyId": agency.company_id,
        "appId": app_id,
        "isInstalled": "true",
        "skip": str(page * LISTING_PAGE_SIZE),
        "limit": str(LISTING_PAGE_SIZE),
    }
    return GhlRequest(
        "GET",
        "/oauth/installedLocations",
        "list of sub-accounts",
        params=params,
        bearer=agency.access_token,
    )


def installed_locations(
    *, agency: OAuthTokens, app_id: str, wanted: Collection[str]
) -> dict[str, InstalledLocation]:
    """The agency's sub-accounts where the app is installed, by id.

    ``GET /oauth/installedLocations`` with the agency token (scope ``oauth.readonly``).
    Reads pages until every ``wanted`` id is found, the list ends, or after
    ``LISTING_MAX_PAGES`` pages. Raises :class:`OAuthError` when GHL refuses (a token
    without ``oauth.readonly``, a wrong app id) or all pages take longer than
    ``LISTING_SECONDS``.
    """
    found: dict[str, InstalledLocation] = {}
    deadline = time.monotonic() + LISTING_SECONDS
    for page in range(LISTING_MAX_PAGES):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OAuthError("HighLevel took too long to list the sub-accounts.", permanent=False)
        request = _listing_request(agency, app_id, page)
        timeout = httpx.Timeout(remaining, connect=min(remaining, 2.0))
        rows = answer_json(send(request, timeout=timeout), request.what).get("locations")
        if not isinstance(rows, list):
            raise OAuthError("HighLevel answered the list of sub-accounts without locations.")
        for location in filter(None, map(_installed_location, rows)):
            found[location.location_id] = location
        if len(rows) < LISTING_PAGE_SIZE or set(wanted) <= found.keys():
            break
    return found
