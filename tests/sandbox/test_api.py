"""The sandbox's API checks what GHL checks (Version, token, location, burst limit); faults."""

from __future__ import annotations

import httpx

from mcpbridge.sandbox import DENTAL, ROOFING, Sandbox


def call(
    sandbox: Sandbox,
    method: str,
    path: str,
    token: str | None,
    *,
    version: str | None = "2021-07-28",
    **kwargs,
) -> httpx.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if version is not None:
        headers["Version"] = version
    return httpx.request(method, f"{sandbox.url}{path}", headers=headers, **kwargs)


def test_the_version_header_is_required(ghl_sandbox: Sandbox) -> None:
    response = call(
        ghl_sandbox, "GET", f"/locations/{DENTAL}", ghl_sandbox.mint_token(), version=None
    )
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "version header was not found",
        "error": "Unauthorized",
    }


def test_bad_and_missing_tokens_get_401(ghl_sandbox: Sandbox) -> None:
    assert call(ghl_sandbox, "GET", f"/locations/{DENTAL}", "forged").status_code == 401
    assert call(ghl_sandbox, "GET", f"/locations/{DENTAL}", None).status_code == 401


def test_a_location_token_stays_in_its_location(ghl_sandbox: Sandbox) -> None:
    token = ghl_sandbox.mint_token(DENTAL)
    other_location = call(ghl_sandbox, "GET", f"/locations/{ROOFING}", token)
    other_contact = call(ghl_sandbox, "GET", "/contacts/ct_roofing_erin", token)
    other_search = call(
        ghl_sandbox, "POST", "/contacts/search", token, json={"locationId": ROOFING}
    )
    assert other_location.status_code == 403
    assert other_contact.status_code == 404
    assert other_search.status_code == 403


def test_past_100_requests_in_10_seconds_it_answers_429(ghl_sandbox: Sandbox) -> None:
    dental, roofing = ghl_sandbox.mint_token(DENTAL), ghl_sandbox.mint_token(ROOFING)
    with httpx.Client(base_url=ghl_sandbox.url, headers={"Version": "2021-07-28"}) as client:
        statuses = [
            client.get(
                f"/locations/{DENTAL}", headers={"Authorization": f"Bearer {dental}"}
            ).status_code
            for _ in range(100)
        ]
        limited = client.get(f"/locations/{DENTAL}", headers={"Authorization": f"Bearer {dental}"})
        neighbour = client.get(
            f"/locations/{ROOFING}", headers={"Authorization": f"Bearer {roofing}"}
        )
        ghl_sandbox.advance(10)
        later = client.get(f"/locations/{DENTAL}", headers={"Authorization": f"Bearer {dental}"})
    assert set(statuses) == {200}
    assert limited.status_code == 429
    assert limited.headers["X-RateLimit-Max"] == "100"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Interval-Milliseconds"] == "10000"
    assert limited.headers["X-RateLimit-Daily-Remaining"] == "199900"
    assert neighbour.status_code == 200
    assert later.status_code == 200


def test_faults_hit_the_next_matching_calls_only(ghl_sandbox: Sandbox) -> None:
    token = ghl_sandbox.mint_token()
    ghl_sandbox.fail("/contacts/*", status=500, times=2, method="GET")
    statuses = [
        call(ghl_sandbox, "GET", "/contacts/ct_dental_alice", token).status_code for _ in range(3)
    ]
    untouched = call(ghl_sandbox, "GET", f"/locations/{DENTAL}", token)
    assert statuses == [500, 500, 200]
    assert untouched.status_code == 200
    assert [r.status for r in ghl_sandbox.requests()] == [500, 500, 200, 200]


def test_contacts_round_trip(ghl_sandbox: Sandbox) -> None:
    token = ghl_sandbox.mint_token()
    created = call(
        ghl_sandbox,
        "POST",
        "/contacts/",
        token,
        json={"locationId": DENTAL, "firstName": "Gia", "email": "gia@example.com"},
    )
    duplicate = call(
        ghl_sandbox,
        "POST",
        "/contacts/",
        token,
        json={"locationId": DENTAL, "email": "GIA@example.com"},
    )
    contact_id = created.json()["contact"]["id"]
    updated = call(ghl_sandbox, "PUT", f"/contacts/{contact_id}", token, json={"lastName": "Rossi"})
    deleted = call(ghl_sandbox, "DELETE", f"/contacts/{contact_id}", token)
    gone = call(ghl_sandbox, "GET", f"/contacts/{contact_id}", token)
    assert created.status_code == 201
    assert len(contact_id) == 20
    assert duplicate.status_code == 400
    assert updated.json()["contact"]["name"] == "Gia Rossi"
    assert deleted.json() == {"succeded": True}
    assert gone.status_code == 404


def test_bad_bodies_get_422_with_messages(ghl_sandbox: Sandbox) -> None:
    token = ghl_sandbox.mint_token()
    response = call(
        ghl_sandbox, "POST", "/calendars/events/appointments", token, json={"locationId": DENTAL}
    )
    not_json = call(
        ghl_sandbox,
        "POST",
        "/contacts/",
        token,
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["message"] == [
        "calendarId should not be empty",
        "contactId should not be empty",
        "startTime should not be empty",
    ]
    assert not_json.status_code == 400


def test_unknown_routes_answer_in_ghl_shape(ghl_sandbox: Sandbox) -> None:
    response = call(ghl_sandbox, "GET", "/no/such/route", ghl_sandbox.mint_token())
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404
