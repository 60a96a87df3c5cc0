"""What GHL's token endpoint says about a sign-in, parsed once.

GHL has no userinfo endpoint: the token response itself names the user
(``userId``), the sub-account (``locationId``, absent for agency tokens), the
agency (``companyId``) and the kind of token (``userType``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LOCATION = "Location"
COMPANY = "Company"


class GrantInvalidError(Exception):
    """The token response lacks what a sign-in needs."""


@dataclass(frozen=True)
class HighLevelGrant:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int | None
    scope: str
    token_type: str
    user_type: str
    user_id: str
    company_id: str
    location_id: str
    approved_locations: tuple[str, ...] = ()

    @property
    def is_agency(self) -> bool:
        return self.user_type == COMPANY

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def identity(self) -> dict[str, Any]:
        """What may be kept about this sign-in (SocialAccount.extra_data): never a token."""
        return {
            "userId": self.user_id,
            "userType": self.user_type,
            "companyId": self.company_id,
            "locationId": self.location_id,
            "scope": self.scope,
        }

    def token_payload(self, *, name: str = "") -> dict[str, Any]:
        """The payload ``upsert_credentials`` takes for this grant's location."""
        payload: dict[str, Any] = {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            "token_type": self.token_type,
            "userType": LOCATION,
            "locationId": self.location_id,
            "companyId": self.company_id,
            "userId": self.user_id,
            "name": name,
        }
        if self.expires_in is not None:
            payload["expires_in"] = self.expires_in
        return payload


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _expires_in(data: Mapping[str, Any]) -> int | None:
    value = data.get("expires_in")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return int(value)


def grant_parse(data: object, *, user_id: str = "", company_id: str = "") -> HighLevelGrant:
    """Parse a token response; ``user_id``/``company_id`` fill in what a locationToken omits."""
    if not isinstance(data, Mapping) or not _text(data, "access_token"):
        raise GrantInvalidError("HighLevel answered without an access token.")
    location_id = _text(data, "locationId")
    user_type = _text(data, "userType") or (LOCATION if location_id else COMPANY)
    grant = HighLevelGrant(
        access_token=_text(data, "access_token"),
        refresh_token=_text(data, "refresh_token"),
        expires_in=_expires_in(data),
        scope=_text(data, "scope"),
        token_type=_text(data, "token_type") or "Bearer",
        user_type=user_type,
        user_id=_text(data, "userId") or user_id,
        company_id=_text(data, "companyId") or company_id,
        location_id=location_id,
        approved_locations=tuple(
            item for item in data.get("approvedLocations") or () if isinstance(item, str) and item
        ),
    )
    if not grant.user_id:
        raise GrantInvalidError("HighLevel did not say which user signed in (no userId).")
    if user_type not in (LOCATION, COMPANY):
        raise GrantInvalidError(f"HighLevel sent an unknown userType {user_type!r}.")
    if user_type == LOCATION and not location_id:
        raise GrantInvalidError("HighLevel sent a sub-account token without its locationId.")
    return grant
