"""An agency's token, held between its sign-in and the sub-accounts it picks.

It lives only in the signed-in user's session, encrypted with the field key
ring, for at most ``AGENCY_GRANT_SECONDS``, and is dropped once used: the hub
never stores agency tokens, only the sub-account tokens obtained with them.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import asdict
from typing import Any

from django.http import HttpRequest

from tenants import crypto
from tenants.highlevel.grants import HighLevelGrant

SESSION_KEY = "highlevel_agency_grant"
AGENCY_GRANT_SECONDS = 600


def agency_grant_keep(request: HttpRequest, grant: HighLevelGrant, *, user_pk: Any) -> None:
    sealed = base64.b64encode(crypto.encrypt(json.dumps(asdict(grant)).encode())).decode()
    request.session[SESSION_KEY] = {
        "sealed": sealed,
        "until": time.time() + AGENCY_GRANT_SECONDS,
        "user": str(user_pk),
    }


def agency_grant_recall(request: HttpRequest) -> HighLevelGrant | None:
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
        return HighLevelGrant(**fields)
    except (crypto.UndecryptableError, binascii.Error, ValueError, TypeError, KeyError):
        agency_grant_forget(request)
        return None


def agency_grant_forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
