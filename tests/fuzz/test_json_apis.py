"""Hostile HTTP requests to every JSON API, including those the OpenAPI document leaves out.

The credentials API (``/api/tenant/credentials``), GHL's webhook (``/webhooks/ghl``) and the
tool endpoints get garbage bodies, wrong content types, declared lengths that lie, deep
nesting, NUL characters, lone surrogates and wrong methods, from callers who may and may
not (Hypothesis). Each answer must come, be under 500, and a refusal must be the JSON
APIs' ``{"code", "message"}``; the server must log no error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from hypothesis import given, note
from hypothesis import strategies as st

from mcpbridge.audit import audit_drain
from mcpbridge.sandbox import COMPANY_ID, DENTAL, ROOFING
from tenants.api import MAX_BODY_BYTES, REQUIRED_FIELDS
from tenants.views import MAX_WEBHOOK_BYTES
from tests.fuzz.conftest import asgi_http, assert_json_error, budget
from tests.ways_in.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_TOKEN = "admin-api-token-for-fuzzing-0123456789abcdef"
CSRF = "c" * 32

# Any character a JSON string can carry, lone surrogates and NUL included.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
METHODS = st.sampled_from(["POST"] * 6 + ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=fuzz",
        "multipart/form-data; boundary=",
        "application/octet-stream",
        "\x00/\x7f",
    ]
)


def _dump(value: Any, ascii_only: bool) -> bytes:
    text = json.dumps(value, ensure_ascii=ascii_only)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate: sent escaped, or as the bytes a careless encoder writes.
        return text.encode("utf-8", "surrogatepass")


def _nested(depth: int) -> list[bytes]:
    return [b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth]


@st.composite
def bodies(draw: st.DrawFn, limit: int, shaped: st.SearchStrategy[Any]) -> bytes:
    """A body: an endpoint-shaped object, any JSON, bytes, deep nesting, or too much."""
    kind = draw(st.sampled_from(["shaped", "shaped", "shaped", "json", "bytes", "deep", "huge"]))
    if kind == "shaped":
        return _dump(draw(shaped), draw(st.booleans()))
    if kind == "json":
        return _dump(draw(JSON), draw(st.booleans()))
    if kind == "bytes":
        return draw(st.binary(max_size=512))
    if kind == "deep":
        return draw(st.sampled_from(_nested(draw(st.integers(1, 10_000)))))
    return b" " * (limit + draw(st.integers(1, 4096)))


@st.composite
def content_lengths(draw: st.DrawFn, body: bytes) -> str | None:
    """The declared Content-Length: the truth, none, or a lie of any shape."""
    return draw(
        st.sampled_from([str(len(body))] * 4 + [None])
        | st.just("9" * 30)
        | st.sampled_from(["-1", "abc", " 12", "1e3", "١٢", "0x10", ""])
        | st.integers(0, 2 * len(body) + 10).map(str)
    )


@st.composite
def requests_to(
    draw: st.DrawFn, limit: int, shaped: st.SearchStrategy[Any]
) -> tuple[str, dict[str, str], bytes]:
    method = draw(METHODS)
    body = draw(bodies(limit, shaped)) if method != "GET" or draw(st.booleans()) else b""
    headers: dict[str, str] = {}
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        headers["Content-Type"] = content_type
    length = draw(content_lengths(body))
    if length is not None:
        headers["Content-Length"] = length
    return method, headers, body


async def _request(
    path: str, method: str, headers: dict[str, str], body: bytes, error_log: Any
) -> None:
    note(f"{method} {path} {headers} {body[:300]!r}{'...' if len(body) > 300 else ''}")
    pairs = [(b"host", b"localhost")] + [
        (name.lower().encode(), value.encode("utf-8")) for name, value in headers.items()
    ]
    response = await asgi_http(method, path, pairs, body)
    assert_json_error(response, method)
    await audit_drain()
    assert error_log.take() == []


def _session(cookie: str, *, csrf: bool) -> dict[str, str]:
    if not csrf:
        return {"Cookie": f"sessionid={cookie}"}
    return {"Cookie": f"sessionid={cookie}; csrftoken={CSRF}", "X-CSRFToken": CSRF}


# --- the credentials API -----------------------------------------------------------------

FIELD_NAMES = (
    *REQUIRED_FIELDS,
    "refreshToken",
    "expiresIn",
    "expires_in",
    "scope",
    "userType",
    "companyId",
    "userId",
    "name",
    "locationName",
    "access_token",
)
GOOD_VALUES = st.sampled_from(["acme", "loc-fuzz", "tok.en-0123456789", "Location", 3600, ""])
CREDENTIALS = st.dictionaries(
    st.sampled_from(FIELD_NAMES),
    GOOD_VALUES | GOOD_VALUES | SCALARS | st.integers(min_value=2**63) | st.lists(SCALARS),
    min_size=2,
    max_size=len(FIELD_NAMES),
)


@pytest.fixture
def credential_callers(settings, personas) -> dict[str, dict[str, str]]:
    settings.ADMIN_API_TOKEN = ADMIN_TOKEN
    staff = session_cookie(personas.staff)
    return {
        "token": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
        "staff": _session(staff, csrf=True),
        "staff without CSRF": _session(staff, csrf=False),
        "member": _session(session_cookie(personas.member), csrf=True),
        "wrong token": {"Authorization": "Bearer nope"},
        "nobody": {},
    }


@given(
    request=requests_to(MAX_BODY_BYTES, CREDENTIALS),
    caller=st.sampled_from(
        ["token"] * 4 + ["staff", "staff without CSRF", "member", "wrong token", "nobody"]
    ),
)
@budget(80)
async def test_the_credentials_api_answers_anything_with_json_and_never_a_5xx(
    credential_callers, error_log, request, caller
):
    method, headers, body = request
    await _request(
        "/api/tenant/credentials",
        method,
        {**credential_callers[caller], **headers},
        body,
        error_log,
    )


# --- GHL's webhook -------------------------------------------------------------------------

TIMESTAMPS = st.one_of(
    st.just("now"),
    st.just("now"),
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda t: t.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "yesterday"]),
    SCALARS,
)
EVENTS = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["INSTALL", "UNINSTALL"]) | SCALARS,
        "timestamp": TIMESTAMPS,
    },
    optional={
        "webhookId": st.uuids().map(str) | SCALARS,
        "locationId": st.sampled_from([DENTAL, ROOFING, ""]) | SCALARS,
        "companyId": st.just(COMPANY_ID) | SCALARS,
        "appId": SCALARS,
    },
)


def _stamped(event: Any) -> Any:
    if isinstance(event, dict) and event.get("timestamp") == "now":
        # Fresh, so that the delivery passes the age check and reaches the database.
        event = {**event, "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds")}
    return event


@pytest.fixture
def webhook_keys(settings, world, bridge) -> Any:
    """GHL's keys configured as in production; acme and globex are sandbox locations."""
    settings.GHL_WEBHOOK_PUBLIC_KEY = bridge.webhooks.public_key_pem
    settings.GHL_WEBHOOK_LEGACY_PUBLIC_KEY = bridge.webhooks.legacy_public_key_pem
    settings.GHL_WEBHOOK_MAX_AGE = 3600
    return bridge.webhooks


@given(
    request=requests_to(MAX_WEBHOOK_BYTES, EVENTS.map(_stamped)),
    signature=st.sampled_from(["ed25519", "ed25519", "ed25519", "rsa", "both", "garbage", None]),
    stale=st.sampled_from([False] * 5 + [True]),
)
@budget(80)
async def test_the_ghl_webhook_answers_anything_with_json_and_never_a_5xx(
    webhook_keys, error_log, request, signature, stale
):
    method, headers, body = request
    if stale:
        when = datetime.now(UTC) - timedelta(days=1)
        event = {"type": "UNINSTALL", "timestamp": when.isoformat(), "locationId": DENTAL}
        body = json.dumps(event).encode()
        headers["Content-Length"] = str(len(body))
    if signature == "garbage":
        headers["X-GHL-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    elif signature is not None:
        signed = webhook_keys.sign(body, signature)
        signed.pop("Content-Type")
        headers.update(signed)
    await _request("/webhooks/ghl", method, headers, body, error_log)


# --- the tool endpoints, beyond their document ------------------------------------------

TOOL_PATHS = st.sampled_from(
    [
        "/mcp/acme/tool/get_location",
        "/mcp/acme/tool/search_contacts",
        "/tools/get_location",
        "/mcp/acme/tools",
        "/tools",
        "/mcp/acme/tool/%00",
        "/mcp/acme/tool/a%2Fb",
        "/mcp/acme/tool/",
        "/mcp/not%20a%20slug/tools",
        "/tools/",
    ]
)
ARGUMENTS = st.dictionaries(ANY_TEXT, JSON, max_size=4) | st.builds(
    lambda q: {"query": q}, ANY_TEXT
)


@pytest.fixture
async def tool_callers(world, fuzz_limits) -> dict[str, dict[str, str]]:
    member = await sync_to_async(session_cookie)(world.member)
    return {
        "token": {"Authorization": f"Bearer {world.acme_token}"},
        "session": {**_session(member, csrf=True), "X-Tenant-ID": "acme"},
        "session without CSRF": _session(member, csrf=False),
        "nobody": {},
    }


@given(
    path=TOOL_PATHS,
    request=requests_to(256 * 1024, ARGUMENTS),
    caller=st.sampled_from(["token", "token", "session", "session without CSRF", "nobody"]),
)
@budget(80)
async def test_the_tool_endpoints_answer_hostile_requests_with_json_and_never_a_5xx(
    tool_callers, error_log, path, request, caller
):
    method, headers, body = request
    await _request(path, method, {**tool_callers[caller], **headers}, body, error_log)
