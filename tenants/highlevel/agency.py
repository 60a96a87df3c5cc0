"""An agency's token, held between its sign-in and the sub-accounts it picks.

It lives only in the signed-in user's session, encrypted with the field key
ring, for at most ``AGENCY_GRANT_SECONDS``, and is dropped once used: the hub
never stores agency tokens, only the sub-account tokens obtained with them.
While kept, it also fetches the sub-accounts' names for the picker.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from tenants import crypto, oauth
from tenants.highlevel import lookups
from tenants.oauth import OAuthTokens

logger = logging.getLogger(__name__)

SESSION_KEY = "highlevel_agency_grant"
AGENCY_GRANT_SECONDS = 600


def agency_grant_keep(request: HttpRequest, grant: OAuthTokens, *, user_pk: Any) -> None:
    sealed = base64.b64encode(crypto.encrypt(json.dumps(asdict(grant)).encode())).decode()
    request.session[SESSION_KEY] = {
        "sealed": sealed,
        "until": time.time() + AGENCY_GRANT_SECONDS,
        "user": str(user_pk),
    }


def agency_grant_recall(request: HttpRequest) -> OAuthTokens | None:
    """The agency grant kept for this user, or None when absent, expired or unreadable."""
    kept = request.session.get(SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("user") != str(request.user.pk):
        return None
    if not isinstance(kept.get("until"), float | int) or kept["until"] < time.time():
        agency_grant_forget(request)
        return None
    try:
        fields = json.loads(crypto.decrypt(base64.b64decode(str(kept["sealed"]))))
        fields["approved_locations"] = tuple(fields.get("approved_locations") or ())
        return OAuthTokens(**fields)
    except (crypto.UndecryptableError, binascii.Error, ValueError, TypeError, KeyError):
        agency_grant_forget(request)
        return None


def agency_grant_forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


@dataclass(frozen=True)
class LocationChoice:
    """One sub-account on the picker: its id, and its name and address when GHL gave them."""

    location_id: str
    name: str = ""
    address: str = ""


def marketplace_app_id() -> str:
    return settings.GHL_APP_ID or settings.GHL_CLIENT_ID.partition("-")[0]


def agency_location_choices(grant: OAuthTokens) -> tuple[list[LocationChoice], str]:
    """The sub-accounts the agency approved, named when GHL lists them, and a note when not.

    Named ones come first, by name; a failed listing leaves the bare ids, as
    they can still be connected.
    """
    try:
        listed = lookups.installed_locations(
            agency=grant, app_id=marketplace_app_id(), wanted=grant.approved_locations
        )
    except oauth.OAuthError as exc:
        logger.info("Sub-account names unavailable for an agency sign-in: %s", exc.message)
        choices = [LocationChoice(location_id) for location_id in grant.approved_locations]
        note = f"The sub-accounts are listed by ID: their names could not be loaded. {exc.message}"
        return choices, note
    choices = [
        LocationChoice(location_id, listed[location_id].name, listed[location_id].address)
        if location_id in listed and listed[location_id].name
        else LocationChoice(location_id)
        for location_id in grant.approved_locations
    ]
    choices.sort(key=lambda choice: (not choice.name, choice.name.casefold()))
    return choices, ""
