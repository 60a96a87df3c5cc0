"""The hub's one client of GHL's OAuth endpoints, and the one token type they answer with.

What it asks GHL: a code exchange at sign-in, a sub-account token with an agency's
(``/oauth/locationToken``), and a new token pair when one expires
(:func:`oauth_token_refresh`); :mod:`tenants.highlevel.lookups` sends the few reads a
sign-in adds (names of the user and the sub-accounts) through it.

Each exchange is a request built by a plain function and an answer read by another,
neither doing I/O; two thin senders carry them, :func:`send` (a pooled sync client)
and :func:`asend` (async), so the sync and async exchanges share every rule.

GHL refresh tokens are single-use: a successful refresh kills the old one. Callers
must therefore serialise refreshes per tenant (see :mod:`tenants.credentials`); this
module only speaks the protocol and retries what is worth retrying (network errors,
429 and 5xx). Every error is an :class:`OAuthError` whose message is safe to show the
user: GHL's own error text, never a token or the client secret.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.conf import settings

from config.errors import HubError
from config.logging import redact

logger = logging.getLogger(__name__)

API_VERSION = "2021-07-28"
LOCATION = "Location"
COMPANY = "Company"
# Delays before each retry of a refresh; the number of attempts is one more than this.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_MAX_MESSAGE = 300


# --- errors --------------------------------------------------------------------------


class OAuthError(HubError, OAuth2Error):  # type: ignore[misc]  # allauth ships no types
    """GHL refused or could not be reached; ``permanent`` says whether retrying can help.

    An allauth ``OAuth2Error`` too, so that a failed code exchange ends allauth's
    callback with the hub's error page.
    """

    code = "oauth_error"
    default_message = "HighLevel refused the request."

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        permanent: bool | None = None,
        status: int = 0,
    ) -> None:
        super().__init__(message, code=code or None, permanent=permanent)
        self.status = status


class InvalidGrantError(OAuthError):
    """GHL rejected the refresh token (used already, revoked, or the app was uninstalled)."""

    code = "invalid_grant"
    permanent = True


class GrantInvalidError(OAuthError):
    """A token answer lacks what the hub needs (a token, or the user and sub-account)."""

    code = "grant_invalid"
    permanent = True


# --- the token type ------------------------------------------------------------------


@dataclass(frozen=True)
class OAuthTokens:
    """What GHL's token endpoint answers (code exchange, refresh, locationToken), parsed once.

    GHL has no userinfo endpoint: the answer itself names the user (``userId``), the
    sub-account (``locationId``, absent for agency tokens), the agency (``companyId``)
    and the kind of token (``userType``).
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int | None
    scope: str
    token_type: str
    user_type: str = ""
    user_id: str = ""
    company_id: str = ""
    location_id: str = ""
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
        """The payload ``upsert_credentials`` takes for these tokens' sub-account."""
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


def tokens_parse(data: object, *, user_id: str = "", company_id: str = "") -> OAuthTokens:
    """Read a token answer; ``user_id``/``company_id`` fill in what a locationToken omits."""
    if not isinstance(data, Mapping) or not _text(data, "access_token"):
        # Never retried: GHL may have spent the old refresh token already, and a second
        # try with it would only turn this into invalid_grant.
        raise GrantInvalidError("HighLevel answered without an access token.")
    location_id = _text(data, "locationId")
    return OAuthTokens(
        access_token=_text(data, "access_token"),
        refresh_token=_text(data, "refresh_token"),
        expires_in=_expires_in(data),
        scope=_text(data, "scope"),
        token_type=_text(data, "token_type") or "Bearer",
        user_type=_text(data, "userType") or (LOCATION if location_id else COMPANY),
        user_id=_text(data, "userId") or user_id,
        company_id=_text(data, "companyId") or company_id,
        location_id=location_id,
        approved_locations=tuple(
            item for item in data.get("approvedLocations") or () if isinstance(item, str) and item
        ),
    )


def grant_parse(data: object, *, user_id: str = "", company_id: str = "") -> OAuthTokens:
    """Read a sign-in's token answer: it must also say who signed in, and for what."""
    grant = tokens_parse(data, user_id=user_id, company_id=company_id)
    if not grant.user_id:
        raise GrantInvalidError("HighLevel did not say which user signed in (no userId).")
    if grant.user_type not in (LOCATION, COMPANY):
        raise GrantInvalidError(f"HighLevel sent an unknown userType {grant.user_type!r}.")
    if grant.user_type == LOCATION and not grant.location_id:
        raise GrantInvalidError("HighLevel sent a sub-account token without its locationId.")
    return grant


# --- requests and answers, without I/O -----------------------------------------------


@dataclass(frozen=True)
class GhlRequest:
    """One request to GHL; ``what`` names it in error messages."""

    method: str
    path: str
    what: str
    form: dict[str, str] | None = field(default=None, repr=False)
    params: dict[str, str] | None = None
    bearer: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        return settings.GHL_BASE_URL.rstrip("/") + self.path

    def headers(self) -> dict[str, str]:
        if not self.bearer:
            return {"Accept": "application/json"}
        return {
            "Authorization": f"Bearer {self.bearer}",
            "Version": API_VERSION,
            "Accept": "application/json",
        }


def token_url() -> str:
    return GhlRequest("POST", "/oauth/token", "token").url


def refresh_request(*, refresh_token: str, user_type: str = "") -> GhlRequest:
    form = {
        "grant_type": "refresh_token",
        "client_id": settings.GHL_CLIENT_ID,
        "client_secret": settings.GHL_CLIENT_SECRET,
        "refresh_token": refresh_token,
    }
    if user_type:
        form["user_type"] = user_type
    return GhlRequest("POST", "/oauth/token", "token refresh", form=form)


def code_request(
    *, code: str, redirect_uri: str, user_type: str, client_id: str, client_secret: str
) -> GhlRequest:
    form = {
        "client_id": client_id,
        "client_secret": client_secret,
        "grant_type": "authorization_code",
        "code": code,
        "user_type": user_type,
        "redirect_uri": redirect_uri,
    }
    return GhlRequest("POST", "/oauth/token", "sign-in", form=form)


def location_token_request(*, agency: OAuthTokens, location_id: str) -> GhlRequest:
    form = {"companyId": agency.company_id, "locationId": location_id}
    return GhlRequest(
        "POST", "/oauth/locationToken", "sub-account token", form=form, bearer=agency.access_token
    )


def error_of(response: httpx.Response) -> tuple[str, str]:
    """GHL's error code and its own words (redacted, shortened) from an error answer."""
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("error") or "")
    message = body.get("error_description") or body.get("message") or code
    if isinstance(message, list):
        message = "; ".join(str(item) for item in message)
    return code, redact(str(message or ""))[:_MAX_MESSAGE] or response.reason_phrase


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def answer_json(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object of a successful answer; otherwise the :class:`OAuthError` it means."""
    if response.status_code not in (200, 201):
        raise _refusal(response, what)
    body = _json_or_none(response)
    if not isinstance(body, dict):
        raise OAuthError(
            f"HighLevel answered the {what} with something unreadable.", permanent=True
        )
    return body


def answer_tokens(response: httpx.Response, what: str) -> OAuthTokens:
    """The tokens of a successful answer; otherwise the :class:`OAuthError` it means."""
    if response.status_code not in (200, 201):
        raise _refusal(response, what)
    return tokens_parse(_json_or_none(response))


def _refusal(response: httpx.Response, what: str) -> OAuthError:
    code, description = error_of(response)
    status = response.status_code
    if code == "invalid_grant":
        return InvalidGrantError(description, status=status)
    if status == 429 or status >= 500:
        return OAuthError(
            f"HighLevel is having trouble ({what} answered {status}: {description}). "
            "Please try again in a moment.",
            code=code,
            permanent=False,
            status=status,
        )
    return OAuthError(
        f"HighLevel refused the {what}; it answered {status}: {description}",
        code=code,
        permanent=True,
        status=status,
    )


def _unreachable(request: GhlRequest, exc: httpx.HTTPError) -> OAuthError:
    logger.warning("GHL %s %s failed: %s", request.method, request.path, type(exc).__name__)
    return OAuthError(
        f"HighLevel could not be reached: the {request.what} endpoint is unreachable "
        f"({type(exc).__name__}). Please try again in a moment.",
        permanent=False,
    )


# --- the senders ---------------------------------------------------------------------


@functools.cache
def _http() -> httpx.Client:
    # One pooled client per process: building one (its TLS context) costs tens of ms.
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False)


def send(request: GhlRequest, *, timeout: httpx.Timeout = TIMEOUT) -> httpx.Response:
    try:
        return _http().request(
            request.method,
            request.url,
            data=request.form,
            params=request.params,
            headers=request.headers(),
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise _unreachable(request, exc) from None


async def asend(request: GhlRequest) -> httpx.Response:
    """The async twin of :func:`send`: waiting on GHL holds no thread."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            return await client.request(
                request.method,
                request.url,
                data=request.form,
                params=request.params,
                headers=request.headers(),
            )
    except httpx.HTTPError as exc:
        raise _unreachable(request, exc) from None


# --- the exchanges -------------------------------------------------------------------


def _retry_or_raise(exc: OAuthError, delay: float | None) -> float:
    if exc.permanent or delay is None:
        raise exc
    logger.warning("GHL token refresh failed (%s); retrying", exc.message)
    return delay


def oauth_token_refresh(*, refresh_token: str, user_type: str = "") -> OAuthTokens:
    """Ask GHL for a new token pair, retrying network errors, 429 and 5xx with backoff."""
    request = refresh_request(refresh_token=refresh_token, user_type=user_type)
    for delay in (*RETRY_DELAYS, None):
        try:
            return answer_tokens(send(request), request.what)
        except OAuthError as exc:
            time.sleep(_retry_or_raise(exc, delay))
    raise AssertionError("unreachable")  # pragma: no cover


async def aoauth_token_refresh(*, refresh_token: str, user_type: str = "") -> OAuthTokens:
    """The async twin of :func:`oauth_token_refresh`."""
    request = refresh_request(refresh_token=refresh_token, user_type=user_type)
    for delay in (*RETRY_DELAYS, None):
        try:
            return answer_tokens(await asend(request), request.what)
        except OAuthError as exc:
            await asyncio.sleep(_retry_or_raise(exc, delay))
    raise AssertionError("unreachable")  # pragma: no cover


def _wants_company(response: httpx.Response) -> bool:
    return response.status_code in (400, 401, 422) and COMPANY in error_of(response)[1]


def code_exchange(*, code: str, redirect_uri: str, app: Any) -> dict[str, Any]:
    """Exchange an authorisation code for GHL's token answer (read by :func:`grant_parse`).

    Sub-account tokens are asked for first; when the user chose the agency on GHL's
    screen GHL answers that the code is for a Company, and the exchange is repeated
    with ``user_type=Company``.
    """

    def exchange(user_type: str) -> httpx.Response:
        request = code_request(
            code=code,
            redirect_uri=redirect_uri,
            user_type=user_type,
            client_id=app.client_id,
            client_secret=app.secret,
        )
        return send(request)

    response = exchange(LOCATION)
    if _wants_company(response):
        response = exchange(COMPANY)
    return answer_json(response, "sign-in")


def location_token(*, agency: OAuthTokens, location_id: str) -> OAuthTokens:
    """A sub-account token obtained with an agency token (``POST /oauth/locationToken``)."""
    request = location_token_request(agency=agency, location_id=location_id)
    body = answer_json(send(request), request.what)
    body.setdefault("locationId", location_id)
    body.setdefault("userType", LOCATION)
    return grant_parse(body, user_id=agency.user_id, company_id=agency.company_id)
