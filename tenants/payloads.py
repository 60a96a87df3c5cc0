"""Parse a GHL token payload, in either spelling, into one typed value.

GHL's token endpoint answers ``access_token``/``refresh_token``/``expires_in``
but ``locationId``/``companyId``/``userType``; deploy scripts send camelCase
throughout. Errors are keyed by the name the caller used (camelCase when the
field is missing).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tenants.exceptions import InvalidCredentialsPayloadError
from tenants.oauth import OAuthTokens

MAX_TOKEN_LENGTH = 8192
MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600
USER_TYPES = ("Location", "Company")

_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class TokenPayload(OAuthTokens):
    """GHL's token set as a script pushes it, with the tenant it is for."""

    slug: str = ""
    name: str = ""


def _token(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    if len(value) > MAX_TOKEN_LENGTH:
        raise ValueError(f"Must be at most {MAX_TOKEN_LENGTH} characters.")
    if value and not _TOKEN_RE.fullmatch(value):
        raise ValueError("Must not contain spaces or control characters.")
    return value


def _identifier(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be a string.")
    if value and not _ID_RE.fullmatch(value):
        raise ValueError("Must be 1 to 64 letters, digits, hyphens or underscores.")
    return value


def _lifetime(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Must be a number of seconds.")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("Must be a whole number of seconds.")
    if not 0 <= value <= MAX_LIFETIME_SECONDS:
        raise ValueError(f"Must be between 0 and {MAX_LIFETIME_SECONDS} seconds.")
    return int(value)


def _text(max_length: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("Must be a string.")
        if len(value) > max_length:
            raise ValueError(f"Must be at most {max_length} characters.")
        if "\x00" in value:
            raise ValueError("Must not contain NUL characters.")
        return value.strip()

    return parse


def _user_type(value: Any) -> str:
    if value not in USER_TYPES:
        raise ValueError("Must be one of: " + ", ".join(USER_TYPES) + ".")
    return str(value)


# attribute: (spellings, camelCase first; parser; required)
_FIELDS: dict[str, tuple[tuple[str, ...], Callable[[Any], Any], bool]] = {
    "access_token": (("accessToken", "access_token"), _token, True),
    "refresh_token": (("refreshToken", "refresh_token"), _token, False),
    "expires_in": (("expiresIn", "expires_in"), _lifetime, False),
    "scope": (("scope", "scopes"), _text(MAX_TOKEN_LENGTH), False),
    "token_type": (("tokenType", "token_type"), _text(32), False),
    "user_type": (("userType", "user_type"), _user_type, False),
    "location_id": (("locationId", "location_id"), _identifier, True),
    "company_id": (("companyId", "company_id"), _identifier, False),
    "user_id": (("userId", "user_id"), _identifier, False),
    "slug": (("tenantId", "tenant_id"), _identifier, False),
    "name": (("name", "locationName"), _text(200), False),
}
_DEFAULTS: dict[str, Any] = {
    "refresh_token": "",
    "expires_in": None,
    "scope": "",
    "token_type": "Bearer",
    "user_type": "Location",
    "company_id": "",
    "user_id": "",
    "slug": "",
    "name": "",
}


def _lookup(data: Mapping[str, Any], spellings: tuple[str, ...]) -> tuple[str, Any]:
    for key in spellings:
        if data.get(key) is not None:
            return key, data[key]
    return spellings[0], None


def token_payload_parse(data: object) -> TokenPayload:
    """Validate a token payload; raise :class:`InvalidCredentialsPayloadError` naming bad fields."""
    if not isinstance(data, Mapping):
        raise InvalidCredentialsPayloadError({"body": ["Must be a JSON object."]})
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for attribute, (spellings, parse, required) in _FIELDS.items():
        key, raw = _lookup(data, spellings)
        if raw is None or raw == "":
            if required:
                errors[key] = ["This field is required."]
            values[attribute] = _DEFAULTS.get(attribute)
            continue
        try:
            values[attribute] = parse(raw)
        except ValueError as exc:
            errors[key] = [str(exc)]
    if errors:
        raise InvalidCredentialsPayloadError(errors)
    return TokenPayload(**values)
