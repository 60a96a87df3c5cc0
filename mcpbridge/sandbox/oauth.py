"""GHL's OAuth 2.0 endpoints: the consent page, token, locationToken, installedLocations."""

from __future__ import annotations

import html
import secrets
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mcpbridge.sandbox.seed import APP_ID
from mcpbridge.sandbox.state import (
    ACCESS_TOKEN_SECONDS,
    CODE_SECONDS,
    Grant,
    SandboxState,
    TokenInfo,
)
from mcpbridge.sandbox.web import ApiError, api, fault_wait, ghl_error, sandbox_state


def oauth_error(status: int, error: str, message: str) -> JSONResponse:
    body = {"statusCode": status, "error": error, "error_description": message, "message": message}
    return JSONResponse(body, status_code=status)


def redirect_with(uri: str, params: dict[str, str]) -> RedirectResponse:
    joiner = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{joiner}{urlencode(params)}", status_code=302)


def consent_params(source: Any) -> dict[str, str]:
    names = (
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "response_type",
        "location_id",
        "user_id",
        "user_type",
        "decision",
    )
    return {name: str(source.get(name, "")) for name in names}


async def choose_location(request: Request) -> Response:
    params = consent_params(
        request.query_params if request.method == "GET" else await request.form()
    )
    state = sandbox_state(request)
    if params["client_id"] != state.client_id:
        return HTMLResponse(
            page("Unknown app", "<p>No app has this client_id.</p>"), status_code=400
        )
    if not params["redirect_uri"]:
        return HTMLResponse(
            page("Missing redirect_uri", "<p>The app sent no redirect_uri.</p>"), status_code=400
        )
    if params["decision"] == "deny":
        return redirect_with(
            params["redirect_uri"], {"error": "access_denied", "state": params["state"]}
        )
    if params["location_id"] or params["user_type"] == "Company":
        return grant_redirect(state, params)
    return HTMLResponse(consent_page(state, params))


def consent_target(state: SandboxState, params: dict[str, str]) -> tuple[str, str, str | None]:
    """The (userType, companyId, locationId) a consent is for; KeyError for an unknown location."""
    locations, companies = state.data["locations"], state.data["companies"]
    chosen = params["location_id"] or None
    if chosen is not None and chosen in companies:
        # The consent page's agency choice: the agency itself, not one of its locations.
        return "Company", chosen, None
    if chosen is None and params["user_type"] != "Company":
        raise KeyError("no location chosen")
    company_id = locations[chosen]["companyId"] if chosen else next(iter(companies))
    if params["user_type"] == "Company":
        return "Company", company_id, None
    return "Location", company_id, chosen


def grant_redirect(state: SandboxState, params: dict[str, str]) -> Response:
    with state.lock:
        try:
            user_type, company_id, location_id = consent_target(state, params)
        except KeyError:
            return HTMLResponse(
                page("Unknown location", "<p>Pick one of the listed locations.</p>"),
                status_code=400,
            )
        user_id = params["user_id"] or state.default_user(location_id, company_id)
        if user_id not in state.data["users"]:
            return HTMLResponse(
                page("Unknown user", "<p>Pick one of the listed users.</p>"), status_code=400
            )
        scopes = frozenset(params["scope"].split()) or None
        code = secrets.token_hex(20)
        state.grants[code] = Grant(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            company_id=company_id,
            location_id=location_id,
            user_id=user_id,
            user_type=user_type,
            scopes=scopes,
            expires_at=state.now() + CODE_SECONDS,
        )
        if location_id is not None:
            # Consenting for a location installs the app there, as on GHL.
            state.app_install(location_id)
    return redirect_with(params["redirect_uri"], {"code": code, "state": params["state"]})


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} - GHL sandbox</title>"
        "<style>body{font-family:system-ui;max-width:40rem;margin:3rem auto;padding:0 1rem}"
        "label{display:block;margin:.4rem 0}button{margin-top:1rem;padding:.5rem 1rem}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def consent_page(state: SandboxState, params: dict[str, str]) -> str:
    hidden = "".join(
        f"<input type='hidden' name='{name}' value='{html.escape(params[name], quote=True)}'>"
        for name in ("client_id", "redirect_uri", "scope", "state", "response_type")
    )
    with state.lock:
        locations = "".join(
            "<label><input type='radio' name='location_id' "
            f"value='{html.escape(loc['id'])}' required> "
            f"{html.escape(loc['name'])} <small>({html.escape(loc['id'])})</small></label>"
            for loc in state.data["locations"].values()
        )
        agencies = "".join(
            "<label><input type='radio' name='location_id' "
            f"value='{html.escape(company['id'])}' required> "
            f"{html.escape(company['name'])} <small>(the agency: every sub-account where the "
            "app is installed)</small></label>"
            for company in state.data["companies"].values()
        )
        users = "".join(
            f"<option value='{html.escape(u['id'])}'>"
            f"{html.escape(u['name'])} ({html.escape(u['email'])})</option>"
            for u in state.data["users"].values()
        )
    scopes = html.escape(params["scope"] or "every sandbox scope")
    body = (
        "<p>This is the local GHL sandbox, not HighLevel. Choose the sub-account to connect, "
        "or sign in as the agency.</p>"
        f"<p>Requested scopes: <code>{scopes}</code></p>"
        f"<form method='post' action='/oauth/chooselocation'>{hidden}{locations}{agencies}"
        f"<label>Sign in as <select name='user_id'>{users}</select></label>"
        "<button type='submit' name='decision' value='allow'>Allow</button> "
        "<button type='submit' name='decision' value='deny' formnovalidate>Deny</button></form>"
    )
    return page("Choose a sub-account", body)


async def token(request: Request) -> Response:
    state = sandbox_state(request)
    form = await request.form()
    grant_type = str(form.get("grant_type", ""))
    # An outage of the token endpoint, as Sandbox.fail("/oauth/token") asks: nothing
    # is spent, like a GHL that never got to the request.
    fault = state.fault_take(request.method, request.url.path)
    if fault is not None:
        await fault_wait(fault)
    if fault is not None and fault.status:
        with state.lock:
            state.token_requests[grant_type or "(none)"] += 1
            state.token_failures[grant_type or "(none)"] += 1
        return ghl_error(fault.status, fault.message, fault.headers)
    with state.lock:
        state.token_requests[grant_type or "(none)"] += 1
        response = token_response(state, {k: str(v) for k, v in form.items()})
        if response.status_code != 200:
            state.token_failures[grant_type or "(none)"] += 1
    return response


def token_response(state: SandboxState, form: dict[str, str]) -> Response:
    if form.get("client_id") != state.client_id or form.get("client_secret") != state.client_secret:
        return oauth_error(401, "invalid_client", "Client credentials are invalid")
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return code_exchange(state, form)
    if grant_type == "refresh_token":
        return refresh_exchange(state, form)
    return oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")


def code_exchange(state: SandboxState, form: dict[str, str]) -> Response:
    grant = state.grants.get(form.get("code", ""))
    if grant is None or grant.used or grant.expires_at <= state.now():
        return oauth_error(
            400, "invalid_grant", "Invalid grant: authorization code is invalid or expired"
        )
    if (
        grant.redirect_uri
        and form.get("redirect_uri")
        and form["redirect_uri"] != grant.redirect_uri
    ):
        return oauth_error(400, "invalid_grant", "Invalid grant: redirect_uri does not match")
    requested = form.get("user_type") or grant.user_type
    if requested == "Location" and grant.location_id is None:
        return oauth_error(
            400, "invalid_request", "This authorization is for a Company; request user_type=Company"
        )
    grant.used = True
    info = TokenInfo(
        user_type=grant.user_type,
        company_id=grant.company_id,
        location_id=grant.location_id,
        user_id=grant.user_id,
        scopes=grant.scopes,
        expires_at=state.now() + ACCESS_TOKEN_SECONDS,
        client_id=grant.client_id,
    )
    return JSONResponse(state.token_issue(info, with_refresh=True))


def refresh_exchange(state: SandboxState, form: dict[str, str]) -> Response:
    record = state.refresh_tokens.get(form.get("refresh_token", ""))
    if record is None or record.used:
        return oauth_error(
            400, "invalid_grant", "Invalid grant: refresh token is invalid, expired or already used"
        )
    # Refresh tokens are single-use: the next one replaces this one.
    record.used = True
    info = replace(record.grant, expires_at=state.now() + ACCESS_TOKEN_SECONDS)
    return JSONResponse(state.token_issue(info, with_refresh=True))


@api("oauth.write")
async def location_token(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    form = await request.form()
    if auth.user_type != "Company":
        raise ApiError(401, "This route requires an Agency (Company) access token")
    company_id, location_id = str(form.get("companyId", "")), str(form.get("locationId", ""))
    if not company_id or not location_id:
        raise ApiError(422, ["companyId should not be empty", "locationId should not be empty"])
    location = state.data["locations"].get(location_id)
    if (
        company_id != auth.company_id
        or location is None
        or location["companyId"] != company_id
        or location_id not in state.data["installations"]
    ):
        raise ApiError(400, "Location not found in this company or the app is not installed there")
    info = TokenInfo(
        user_type="Location",
        company_id=company_id,
        location_id=location_id,
        user_id=auth.user_id,
        scopes=auth.scopes,
        expires_at=state.now() + ACCESS_TOKEN_SECONDS,
        client_id=auth.client_id,
    )
    # GHL's answer carries a refresh token too (its docs' schema was corrected to say so).
    body = state.token_issue(info, with_refresh=True)
    return JSONResponse({k: v for k, v in body.items() if k not in ("companyId", "userType")})


def _query_flag(request: Request, name: str) -> bool | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise ApiError(422, [f"{name} must be a boolean value"])
    return value == "true"


def _query_count(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name, str(default))
    if not value.isdigit():
        raise ApiError(422, [f"{name} must be a number string"])
    return int(value)


def installed_location(state: SandboxState, location: dict[str, Any]) -> dict[str, Any]:
    # One line, as GHL gives it: "47 W 13th St, New York, NY 10011, USA".
    region = " ".join(part for part in (location["state"], location["postalCode"]) if part)
    parts = (location["address"], location["city"], region, location["country"])
    address = ", ".join(part for part in parts if part)
    row: dict[str, Any] = {"_id": location["id"], "name": location["name"], "address": address}
    installation = state.data["installations"].get(location["id"])
    row["isInstalled"] = installation is not None
    if installation is not None:
        row["installedAt"] = installation["installedAt"]
    return row


@api("oauth.readonly")
async def installed_locations(request: Request, auth: TokenInfo) -> Response:
    state = sandbox_state(request)
    query = request.query_params
    if auth.user_type != "Company":
        raise ApiError(401, "This route requires an Agency (Company) access token")
    missing = [name for name in ("companyId", "appId") if not query.get(name)]
    if missing:
        raise ApiError(422, [f"{name} should not be empty" for name in missing])
    if query["companyId"] != auth.company_id:
        raise ApiError(403, "The token does not have access to this company.")
    if query["appId"] != APP_ID:
        raise ApiError(400, "App not found")
    installed, wanted = _query_flag(request, "isInstalled"), query.get("locationId")
    skip, limit = _query_count(request, "skip", 0), _query_count(request, "limit", 20)
    words = query.get("query", "").casefold()
    rows = [
        installed_location(state, location)
        for location in state.data["locations"].values()
        if location["companyId"] == auth.company_id
        and wanted in (None, location["id"])
        and words in location["name"].casefold()
    ]
    rows = [row for row in rows if installed in (None, row["isInstalled"])]
    return JSONResponse(
        {
            "locations": rows[skip : skip + limit],
            "count": len(rows),
            "installToFutureLocations": False,
        }
    )


routes = [
    Route("/oauth/chooselocation", choose_location, methods=["GET", "POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/locationToken", location_token, methods=["POST"]),
    Route("/oauth/installedLocations", installed_locations, methods=["GET"]),
]
