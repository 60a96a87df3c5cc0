"""The sandbox's GET /oauth/installedLocations answers like GHL's: agency tokens only, its shape."""

from __future__ import annotations

import httpx

from mcpbridge.sandbox import APP_ID, COMPANY_ID, DENTAL, ROOFING, Sandbox

PATH = "/oauth/installedLocations"
QUERY = {"companyId": COMPANY_ID, "appId": APP_ID}


def listing(
    sandbox: Sandbox, token: str, *, version: str | None = "2021-07-28", **params: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if version is not None:
        headers["Version"] = version
    return httpx.get(f"{sandbox.url}{PATH}", params={**QUERY, **params}, headers=headers)


def agency_token(sandbox: Sandbox, **kwargs) -> str:
    return sandbox.mint_tokens(None, **kwargs)["access_token"]


def test_it_lists_the_agencys_locations_with_name_and_one_line_address(
    ghl_sandbox: Sandbox,
) -> None:
    response = listing(ghl_sandbox, agency_token(ghl_sandbox), isInstalled="true")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["installToFutureLocations"] is False
    dental, roofing = body["locations"]
    assert dental == {
        "_id": DENTAL,
        "name": "Bright Smile Dental",
        "address": "1 Main Street, New York, NY 10001, US",
        "isInstalled": True,
        "installedAt": "2025-01-06T15:00:00.000Z",
    }
    assert (roofing["_id"], roofing["name"]) == (ROOFING, "Summit Roofing")
    assert response.headers["X-RateLimit-Max"] == "100"


def test_it_needs_the_version_header(ghl_sandbox: Sandbox) -> None:
    response = listing(ghl_sandbox, agency_token(ghl_sandbox), version=None)
    assert response.status_code == 401
    assert response.json()["message"] == "version header was not found"


def test_it_needs_an_agency_token_with_oauth_readonly(ghl_sandbox: Sandbox) -> None:
    location = listing(ghl_sandbox, ghl_sandbox.mint_token(DENTAL))
    unscoped = listing(ghl_sandbox, agency_token(ghl_sandbox, scopes={"oauth.write"}))
    forged = listing(ghl_sandbox, "forged")

    assert location.status_code == 401
    assert location.json()["message"] == "This route requires an Agency (Company) access token"
    assert unscoped.status_code == 401
    assert unscoped.json() == {
        "statusCode": 401,
        "message": "The token is not authorized for this scope.",
        "error": "Unauthorized",
    }
    assert forged.status_code == 401


def test_company_and_app_are_required_and_checked(ghl_sandbox: Sandbox) -> None:
    token = agency_token(ghl_sandbox)
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}

    missing = httpx.get(f"{ghl_sandbox.url}{PATH}", headers=headers)
    other_company = listing(ghl_sandbox, token, companyId="cmp_someone_else")
    other_app = listing(ghl_sandbox, token, appId="someone-elses-app")
    bad_flag = listing(ghl_sandbox, token, isInstalled="yes")

    assert missing.status_code == 422
    assert missing.json() == {
        "statusCode": 422,
        "message": ["companyId should not be empty", "appId should not be empty"],
        "error": "Unprocessable Entity",
    }
    assert other_company.status_code == 403
    assert other_app.status_code == 400
    assert bad_flag.status_code == 422


def test_an_uninstalled_location_is_listed_as_not_installed(ghl_sandbox: Sandbox) -> None:
    ghl_sandbox.webhooks.revoke_location(DENTAL)
    agency = ghl_sandbox.mint_tokens(None)

    installed = listing(ghl_sandbox, agency["access_token"], isInstalled="true").json()
    everything = listing(ghl_sandbox, agency["access_token"]).json()
    refused = httpx.post(
        f"{ghl_sandbox.url}/oauth/locationToken",
        headers={"Authorization": f"Bearer {agency['access_token']}", "Version": "2021-07-28"},
        data={"companyId": COMPANY_ID, "locationId": DENTAL},
    )

    assert [row["_id"] for row in installed["locations"]] == [ROOFING]
    assert {row["_id"]: row["isInstalled"] for row in everything["locations"]} == {
        DENTAL: False,
        ROOFING: True,
    }
    assert "installedAt" not in everything["locations"][0]
    assert agency["approvedLocations"] == [ROOFING]
    assert refused.status_code == 400


def test_it_pages_and_searches_by_name(ghl_sandbox: Sandbox) -> None:
    token = agency_token(ghl_sandbox)

    first = listing(ghl_sandbox, token, limit="1").json()
    second = listing(ghl_sandbox, token, limit="1", skip="1").json()
    searched = listing(ghl_sandbox, token, query="roof").json()
    one = listing(ghl_sandbox, token, locationId=DENTAL).json()

    assert [row["_id"] for row in first["locations"]] == [DENTAL]
    assert [row["_id"] for row in second["locations"]] == [ROOFING]
    assert first["count"] == second["count"] == 2
    assert [row["_id"] for row in searched["locations"]] == [ROOFING]
    assert [row["_id"] for row in one["locations"]] == [DENTAL]
    assert listing(ghl_sandbox, token, limit="many").status_code == 422
