"""The HTTP tool endpoints, fuzzed from their own OpenAPI document (schemathesis).

Requests valid and invalid by the document go to the real ASGI application, with a
member's or a viewer's API token (so most reach the tool-call code, not the 401 path), no
token or a wrong one. Every answer must be one the document describes (status, headers,
body), never a 5xx, and nothing may be logged as an error on the way.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mcpbridge.audit import audit_drain
from mcpbridge.ways_in.openapi import openapi_document
from tests.fuzz.conftest import asgi_http, budget

pytestmark = pytest.mark.django_db(transaction=True)

#: Tools of the GHL child that answer from the sandbox or from the catalogue at once.
CHEAP_TOOLS = ("get_location", "search_contacts", "get_contact", "search_operations")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
CALLERS = ("member", "member", "member", "viewer", "nobody", "stranger")


@cache
def _schema() -> Any:
    return schemathesis.openapi.from_dict(openapi_document())


def _operation(path: str, method: str) -> Any:
    return _schema()[path][method]


@cache
def cases() -> st.SearchStrategy[Case]:
    """Every operation as the document allows and as it does not; also the tenant ``acme``
    and tools it has, so that calls reach the child rather than stop at ``not_found``."""
    strategies = []
    for path, methods in openapi_document()["paths"].items():
        for method in methods:
            operation = _operation(path, method.upper())
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategies.append(operation.as_strategy(generation_mode=mode))
                if "{tenant}" in path:
                    fixed = {"tenant": "acme"}
                    strategies.append(
                        operation.as_strategy(generation_mode=mode, path_parameters=fixed)
                    )
    for tool in CHEAP_TOOLS:
        for path, fixed in (
            ("/mcp/{tenant}/tool/{name}", {"tenant": "acme", "name": tool}),
            ("/tools/{name}", {"name": tool}),
        ):
            operation = _operation(path, "POST")
            strategies.append(operation.as_strategy(path_parameters=fixed))
    return st.one_of(strategies)


def _authorization(world: Any, caller: str) -> dict[str, str]:
    tokens = {
        "member": world.acme_token,
        "viewer": world.acme_viewer_token,
        "stranger": "ghlhub_not-a-token",
    }
    return {"Authorization": f"Bearer {tokens[caller]}"} if caller in tokens else {}


async def _send(case: Case, headers: dict[str, str]) -> schemathesis.Response:
    """``case`` as requests would send it, through the ASGI application in this event loop
    (where the registry keeps the tenant's child from one example to the next)."""
    sent = case.as_transport_kwargs(base_url="http://localhost", headers=headers)
    prepared = requests.Request(**sent).prepare()
    target = prepared.path_url
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    pairs = [(b"host", b"localhost")] + [
        (name.lower().encode(), value.encode()) for name, value in prepared.headers.items()
    ]
    answer = await asgi_http(str(prepared.method), target, pairs, body)
    return schemathesis.Response(
        status_code=answer.status_code,
        headers={name: [value] for name, value in answer.headers.items()},
        content=answer.content,
        request=prepared,
        elapsed=0.0,
        verify=True,
    )


@given(data=st.data())
@budget(100)
async def test_every_answer_of_the_tool_endpoints_is_documented_and_none_is_a_5xx(
    world, fuzz_limits, error_log, data
):
    case = data.draw(cases(), label="case")
    caller = data.draw(st.sampled_from(CALLERS), label="caller")
    response = await _send(case, _authorization(world, caller))
    case.validate_response(response, checks=CHECKS)
    # The call's audit entry is written after the answer: a failure to store it is logged.
    await audit_drain()
    assert error_log.take() == []
