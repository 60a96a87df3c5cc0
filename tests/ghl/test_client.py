"""HTTP behaviour of the child's GHL client, against the sandbox over real HTTP."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from mcpbridge.ghl.client import GhlClient, GhlError, PreparedRequest, retry_after_seconds
from mcpbridge.ghl.config import Settings
from mcpbridge.ghl.redact import Redactor
from mcpbridge.sandbox import DENTAL, Sandbox
from tests.ghl.conftest import inproc_child, result_json, result_text


def get_contact(contact_id: str = "ct_dental_alice") -> PreparedRequest:
    return PreparedRequest(
        "GET", f"/contacts/{contact_id}", "/contacts/{contactId}", "2021-07-28", True, []
    )


def create_note() -> PreparedRequest:
    return PreparedRequest(
        "POST",
        "/contacts/ct_dental_alice/notes",
        "/contacts/{contactId}/notes",
        "2021-07-28",
        False,
        [],
        json={"body": "hi"},
    )


def client_for(sandbox: Sandbox, **overrides) -> GhlClient:
    settings = Settings(
        access_token=sandbox.mint_token(DENTAL),
        location_id=DENTAL,
        base_url=sandbox.url,
        **overrides,
    )
    return GhlClient(settings)


async def test_it_retries_server_errors_for_idempotent_calls_only(ghl_sandbox: Sandbox) -> None:
    client = client_for(ghl_sandbox)
    ghl_sandbox.fail("/contacts/ct_dental_alice", status=502, times=1)
    ghl_sandbox.fail("/contacts/ct_dental_alice/notes", status=500, times=1, method="POST")
    try:
        fetched = await client.send(get_contact())
        with pytest.raises(GhlError) as caught:
            await client.send(create_note())
    finally:
        await client.aclose()
    assert fetched.data["contact"]["id"] == "ct_dental_alice"
    assert [r.status for r in ghl_sandbox.requests("/contacts/ct_dental_alice")] == [502, 200]
    assert caught.value.status == 500
    assert len(ghl_sandbox.requests("/contacts/ct_dental_alice/notes")) == 1
    assert ghl_sandbox.data["notes"] == {}


async def test_it_gives_up_after_its_retries(ghl_sandbox: Sandbox) -> None:
    client = client_for(ghl_sandbox, max_retries=2)
    ghl_sandbox.fail("/contacts/*", status=503, times=5)
    try:
        with pytest.raises(GhlError, match="503"):
            await client.send(get_contact())
    finally:
        await client.aclose()
    assert len(ghl_sandbox.requests()) == 3


async def test_a_rate_limit_it_cannot_wait_out_is_reported(ghl_sandbox: Sandbox) -> None:
    client = client_for(ghl_sandbox, max_rate_limit_wait=1)
    ghl_sandbox.fail("/contacts/*", status=429, times=1, headers={"Retry-After": "60"})
    try:
        with pytest.raises(GhlError, match="429") as caught:
            await client.send(get_contact())
    finally:
        await client.aclose()
    assert "GHL's rate limit; retry after 60 s" in str(caught.value)
    assert len(ghl_sandbox.requests()) == 1


async def test_a_rate_limit_longer_than_the_calls_budget_is_reported_at_once(
    ghl_sandbox: Sandbox,
) -> None:
    ghl_sandbox.fail("/contacts/*", status=429, times=1, headers={"Retry-After": "5"})
    async with inproc_child(ghl_sandbox, call_budget=2.0) as client:
        result = await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
    assert result.is_error
    assert "retry after 5 s" in result_text(result)
    assert [r.status for r in ghl_sandbox.requests()] == [429]


async def test_a_hanging_ghl_is_bounded_in_total_not_per_attempt(ghl_sandbox: Sandbox) -> None:
    ghl_sandbox.fail("/contacts/*", status=200, times=50, delay=5)
    async with inproc_child(ghl_sandbox, timeout=0.2, max_retries=20, call_budget=0.8) as client:
        result = await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
    assert result.is_error
    assert result_text(result) == (
        "GHL did not answer GET /contacts/{contactId} within 0.8 s (retries included); "
        "try again shortly."
    )


async def test_many_concurrent_calls_never_trip_ghls_limit(ghl_sandbox: Sandbox) -> None:
    ghl_sandbox.state.rate_limit = 10
    ghl_sandbox.state.rate_window = 0.25
    async with inproc_child(ghl_sandbox, max_requests=9, rate_window=0.25) as client:
        results = await asyncio.gather(
            *(client.call_tool("get_contact", {"contactId": "ct_dental_alice"}) for _ in range(150))
        )
    assert not [result for result in results if result.is_error]
    statuses = [r.status for r in ghl_sandbox.requests()]
    assert 429 not in statuses
    assert len(statuses) == 150


async def test_network_failures_become_clear_errors(closed_port: int) -> None:
    settings = Settings(
        access_token="tok-abcdefgh",
        location_id=DENTAL,
        base_url=f"http://127.0.0.1:{closed_port}",
        max_retries=1,
    )
    client = GhlClient(settings)
    try:
        with pytest.raises(GhlError) as caught:
            await client.send(create_note())
    finally:
        await client.aclose()
    assert (
        str(caught.value)
        == "GHL could not be reached (POST /contacts/{contactId}/notes); try again shortly."
    )


async def test_a_slow_ghl_times_out_as_a_tool_error(ghl_sandbox: Sandbox) -> None:
    ghl_sandbox.fail("/contacts/*", status=200, times=1, delay=1.5)
    async with inproc_child(ghl_sandbox, timeout=0.3, max_retries=0) as client:
        result = await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
    assert result.is_error
    assert result_text(result) == "GHL timed out (GET /contacts/{contactId}); try again shortly."


async def test_an_expired_or_narrow_token_is_reported_not_refreshed(ghl_sandbox: Sandbox) -> None:
    narrow = ghl_sandbox.mint_token(DENTAL, scopes={"contacts.readonly"})
    async with inproc_child(ghl_sandbox, token=narrow) as client:
        allowed = await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
        denied = await client.call_tool("list_calendars", {})
        ghl_sandbox.advance(86400)
        expired = await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
    assert result_json(allowed)["contact"]["id"] == "ct_dental_alice"
    assert "not authorized for this scope" in result_text(denied)
    assert "401" in result_text(expired)
    assert not ghl_sandbox.token_requests


async def test_large_responses_are_cut_with_a_note(ghl_sandbox: Sandbox) -> None:
    async with inproc_child(ghl_sandbox, max_result_chars=1000) as client:
        result = await client.call_tool("search_contacts", {"limit": 100})
    text = result_text(result)
    assert not result.is_error
    assert text.startswith('{"contacts":[')
    assert "[truncated: the response was" in text
    assert len(text) < 1300
    structured = result.structured_content
    assert len(json.dumps(structured)) < 1300
    assert 0 < len(structured["contacts"]) < structured["total"]
    assert structured["_truncated"].startswith("lists cut to fit (contacts: ")


async def test_it_slows_down_when_ghl_says_the_window_is_spent(ghl_sandbox: Sandbox) -> None:
    client = client_for(ghl_sandbox)
    ghl_sandbox.state.rate_limit = 2
    ghl_sandbox.state.rate_window = 0.4
    try:
        for _ in range(4):
            await client.send(get_contact())
    finally:
        await client.aclose()
    assert [r.status for r in ghl_sandbox.requests()] == [200, 200, 200, 200]


def test_retry_after_reads_ghl_headers() -> None:
    def response(**headers: str) -> httpx.Response:
        return httpx.Response(429, headers=headers)

    assert retry_after_seconds(response(**{"Retry-After": "3"})) == 3.0
    assert (
        retry_after_seconds(
            response(**{"X-RateLimit-Remaining": "0", "X-RateLimit-Interval-Milliseconds": "10000"})
        )
        == 10.0
    )
    assert retry_after_seconds(response(**{"X-RateLimit-Remaining": "5"})) is None
    assert retry_after_seconds(response(**{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0


async def test_a_malformed_retry_after_is_waited_out_not_a_crash(ghl_sandbox: Sandbox) -> None:
    ghl_sandbox.fail("/contacts/*", status=429, times=1, headers={"Retry-After": "soon"})
    async with inproc_child(ghl_sandbox, rate_window=0.2) as client:
        result = await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
    assert result_json(result)["contact"]["id"] == "ct_dental_alice"
    assert [r.status for r in ghl_sandbox.requests()] == [429, 200]


async def test_no_result_carries_the_token_even_when_ghl_echoes_it(ghl_sandbox: Sandbox) -> None:
    token = ghl_sandbox.mint_token(DENTAL)
    other = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvdGhlci10ZW5hbnQifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    ghl_sandbox.fail(
        "/contacts/ct_dental_alice",
        status=400,
        message=f"invalid header Authorization: Bearer {token}; raw {token}; stale {other}",
    )
    async with inproc_child(ghl_sandbox, token=token) as client:
        echoed = await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
        await client.call_tool(
            "add_contact_note",
            {"contactId": "ct_dental_alice", "body": f"pasted by mistake: bearer {token}"},
        )
        notes = await client.call_tool("list_contact_notes", {"contactId": "ct_dental_alice"})
    assert echoed.is_error
    assert "invalid header Authorization: Bearer [redacted]" in result_text(echoed)
    for result in (echoed, notes):
        text = result_text(result) + json.dumps(result.structured_content)
        assert token not in text
        assert other not in text
    assert "pasted by mistake: bearer [redacted]" in result_text(notes)


def test_anything_shaped_like_a_credential_is_redacted() -> None:
    redactor = Redactor(("own-secret-token",))
    text = (
        "own-secret-token / Authorization: Bearer abc.def-ghi_jkl / "
        "eyJhbGciOiJSUzI1NiJ9.eyJsb2NhdGlvbklkIjoieCJ9.c2lnbmF0dXJlMTIz / "
        "pit-0a1b2c3d-1111-2222-3333-444455556666 / a bearer of news"
    )
    assert redactor.text(text) == (
        "[redacted] / Authorization: Bearer [redacted] / [redacted] / [redacted] / a bearer of news"
    )
    assert redactor.value({"a": ["own-secret-token", 3]}) == {"a": ["[redacted]", 3]}
