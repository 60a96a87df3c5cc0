"""The sandbox's OAuth behaves like GHL's: consent redirect, code and refresh grants, errors."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mcpbridge.sandbox import ANA, BEN, COMPANY_ID, DENTAL, ROOFING, Sandbox

REDIRECT = "http://127.0.0.1:8000/accounts/highlevel/login/callback/"


def authorize(sandbox: Sandbox, **params: str) -> httpx.Response:
    query = {
        "response_type": "code",
        "client_id": sandbox.state.client_id,
        "redirect_uri": REDIRECT,
        "state": "st-123",
        **params,
    }
    return httpx.get(f"{sandbox.url}/oauth/chooselocation", params=query)


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == ["st-123"]
    return query["code"][0]


def token(sandbox: Sandbox, **form: str) -> httpx.Response:
    body = {
        "client_id": sandbox.state.client_id,
        "client_secret": sandbox.state.client_secret,
        **form,
    }
    return httpx.post(f"{sandbox.url}/oauth/token", data=body)


def exchange(sandbox: Sandbox, code: str) -> httpx.Response:
    return token(
        sandbox,
        grant_type="authorization_code",
        code=code,
        user_type="Location",
        redirect_uri=REDIRECT,
    )


def api_get(sandbox: Sandbox, path: str, access_token: str) -> httpx.Response:
    return httpx.get(
        f"{sandbox.url}{path}",
        headers={"Authorization": f"Bearer {access_token}", "Version": "2021-07-28"},
    )


def test_the_consent_page_lists_locations_and_users(ghl_sandbox: Sandbox) -> None:
    page = authorize(ghl_sandbox, scope="contacts.readonly users.readonly")
    assert page.status_code == 200
    for text in (
        "Bright Smile Dental",
        "Summit Roofing",
        "Ana Admin",
        "contacts.readonly users.readonly",
        "st-123",
    ):
        assert text in page.text


def test_picking_a_location_redirects_back_with_code_and_state(ghl_sandbox: Sandbox) -> None:
    by_query = authorize(ghl_sandbox, location_id=DENTAL, user_id=BEN)
    form = {
        "client_id": ghl_sandbox.state.client_id,
        "redirect_uri": REDIRECT,
        "state": "st-123",
        "location_id": ROOFING,
        "user_id": ANA,
        "decision": "allow",
    }
    by_form = httpx.post(f"{ghl_sandbox.url}/oauth/chooselocation", data=form)
    assert by_query.headers["location"].startswith(REDIRECT + "?")
    assert code_from(by_query) != code_from(by_form)


def test_the_consent_page_offers_the_agency_itself(ghl_sandbox: Sandbox) -> None:
    page = authorize(ghl_sandbox)
    form = {
        "client_id": ghl_sandbox.state.client_id,
        "redirect_uri": REDIRECT,
        "state": "st-123",
        "location_id": COMPANY_ID,
        "user_id": ANA,
        "decision": "allow",
    }
    code = code_from(httpx.post(f"{ghl_sandbox.url}/oauth/chooselocation", data=form))
    body = token(
        ghl_sandbox, grant_type="authorization_code", code=code, user_type="Company"
    ).json()
    assert f"value='{COMPANY_ID}'" in page.text
    assert "Sandbox Agency" in page.text
    assert (body["userType"], body["companyId"], body["userId"]) == ("Company", COMPANY_ID, ANA)
    assert body["approvedLocations"] == [DENTAL, ROOFING]


def test_consenting_for_a_location_installs_the_app_there_again(ghl_sandbox: Sandbox) -> None:
    ghl_sandbox.webhooks.revoke_location(DENTAL)
    assert ghl_sandbox.mint_tokens(None)["approvedLocations"] == [ROOFING]

    code_from(authorize(ghl_sandbox, location_id=DENTAL))

    assert ghl_sandbox.mint_tokens(None)["approvedLocations"] == [DENTAL, ROOFING]


def test_an_unknown_location_gets_an_error_page_for_an_agency_too(ghl_sandbox: Sandbox) -> None:
    response = authorize(ghl_sandbox, user_type="Company", location_id="loc_nowhere")
    assert response.status_code == 400
    assert "Unknown location" in response.text


def test_denying_consent_redirects_with_access_denied(ghl_sandbox: Sandbox) -> None:
    denied = authorize(ghl_sandbox, decision="deny")
    query = parse_qs(urlsplit(denied.headers["location"]).query)
    assert query == {"error": ["access_denied"], "state": ["st-123"]}


def test_an_unknown_app_gets_an_error_page(ghl_sandbox: Sandbox) -> None:
    response = authorize(ghl_sandbox, client_id="someone-else", location_id=DENTAL)
    assert response.status_code == 400
    assert "Unknown app" in response.text


def test_a_code_becomes_tokens_once(ghl_sandbox: Sandbox) -> None:
    code = code_from(
        authorize(
            ghl_sandbox, location_id=DENTAL, user_id=BEN, scope="contacts.readonly users.readonly"
        )
    )
    first = exchange(ghl_sandbox, code)
    again = exchange(ghl_sandbox, code)
    body = first.json()
    assert first.status_code == 200
    assert body["expires_in"] == 86399
    assert body["token_type"] == "Bearer"
    assert (body["locationId"], body["companyId"], body["userId"], body["userType"]) == (
        DENTAL,
        COMPANY_ID,
        BEN,
        "Location",
    )
    assert body["scope"] == "contacts.readonly users.readonly"
    assert body["refresh_token"]
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert set(again.json()) >= {"statusCode", "message", "error"}
    assert ghl_sandbox.token_requests == {"authorization_code": 2}


def test_the_token_identifies_the_user_through_the_users_api(ghl_sandbox: Sandbox) -> None:
    body = exchange(
        ghl_sandbox,
        code_from(authorize(ghl_sandbox, location_id=DENTAL, user_id=BEN, scope="users.readonly")),
    ).json()
    user = api_get(ghl_sandbox, f"/users/{body['userId']}", body["access_token"])
    narrow = exchange(
        ghl_sandbox,
        code_from(
            authorize(ghl_sandbox, location_id=DENTAL, user_id=BEN, scope="contacts.readonly")
        ),
    ).json()
    refused = api_get(ghl_sandbox, f"/users/{narrow['userId']}", narrow["access_token"])
    assert user.status_code == 200
    assert (user.json()["name"], user.json()["email"]) == (
        "Ben Front-desk",
        "ben@sandbox-agency.example.com",
    )
    assert refused.status_code == 401
    assert refused.json()["message"] == "The token is not authorized for this scope."


def test_refresh_tokens_rotate_and_are_single_use(ghl_sandbox: Sandbox) -> None:
    first = exchange(ghl_sandbox, code_from(authorize(ghl_sandbox, location_id=DENTAL))).json()
    refreshed = token(
        ghl_sandbox,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        user_type="Location",
    )
    reused = token(
        ghl_sandbox,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        user_type="Location",
    )
    second = refreshed.json()
    assert refreshed.status_code == 200
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == 86399
    assert reused.status_code == 400
    assert reused.json() | {"message": ""} == {
        "statusCode": 400,
        "error": "invalid_grant",
        "error_description": reused.json()["error_description"],
        "message": "",
    }
    assert api_get(ghl_sandbox, f"/locations/{DENTAL}", second["access_token"]).status_code == 200
    assert ghl_sandbox.token_requests == {"authorization_code": 1, "refresh_token": 2}
    assert ghl_sandbox.state.token_failures == {"refresh_token": 1}


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "made-up"}, 400, "invalid_grant"),
    ],
)
def test_bad_token_requests_get_ghl_shaped_errors(
    ghl_sandbox: Sandbox, form: dict[str, str], status: int, error: str
) -> None:
    response = token(ghl_sandbox, **form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["statusCode"] == status
    assert response.json()["message"]


def test_tokens_expire_by_the_sandbox_clock(ghl_sandbox: Sandbox) -> None:
    body = exchange(ghl_sandbox, code_from(authorize(ghl_sandbox, location_id=DENTAL))).json()
    ghl_sandbox.advance(86400)
    expired = api_get(ghl_sandbox, f"/locations/{DENTAL}", body["access_token"])
    renewed = token(
        ghl_sandbox, grant_type="refresh_token", refresh_token=body["refresh_token"]
    ).json()
    assert expired.status_code == 401
    assert api_get(ghl_sandbox, f"/locations/{DENTAL}", renewed["access_token"]).status_code == 200


def test_an_agency_login_can_get_a_location_token(ghl_sandbox: Sandbox) -> None:
    code = code_from(authorize(ghl_sandbox, user_type="Company", user_id=ANA))
    company = token(
        ghl_sandbox, grant_type="authorization_code", code=code, user_type="Company"
    ).json()
    headers = {"Authorization": f"Bearer {company['access_token']}", "Version": "2021-07-28"}
    located = httpx.post(
        f"{ghl_sandbox.url}/oauth/locationToken",
        headers=headers,
        data={"companyId": COMPANY_ID, "locationId": ROOFING},
    )
    body = located.json()
    location_only = {"Authorization": f"Bearer {body['access_token']}", "Version": "2021-07-28"}
    refused = httpx.post(
        f"{ghl_sandbox.url}/oauth/locationToken",
        headers=location_only,
        data={"companyId": COMPANY_ID, "locationId": DENTAL},
    )
    assert company["userType"] == "Company"
    assert company["approvedLocations"] == [DENTAL, ROOFING]
    assert "locationId" not in company
    assert located.status_code == 200
    assert body["locationId"] == ROOFING
    assert body["refresh_token"]  # GHL's locationToken answer includes one
    assert api_get(ghl_sandbox, f"/locations/{ROOFING}", body["access_token"]).status_code == 200
    assert refused.status_code == 401


def test_a_company_code_cannot_become_a_location_token(ghl_sandbox: Sandbox) -> None:
    code = code_from(authorize(ghl_sandbox, user_type="Company"))
    response = exchange(ghl_sandbox, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
