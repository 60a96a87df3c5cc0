"""Fuzzing the ways in: one Hypothesis budget, a guard on ERROR logs, raw HTTP to the ASGI app.

Every fuzz test runs a fixed number of examples drawn from a fixed seed (``derandomize``),
so a run is repeatable and its time bounded; ``FUZZ_SCALE=20`` multiplies the examples for
a deeper search on a developer's machine. Examples are not shrunk: a failure reports the
example as it was generated, rather than spending minutes making it smaller.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from channels.testing import HttpCommunicator
from hypothesis import HealthCheck, Phase, settings

from config.asgi import application
from tests.ways_in.conftest import Response, bridge, world  # noqa: F401 (fixtures)

FUZZ_SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
#: Long enough for a tool call on a machine busy with the rest of the suite; far shorter
#: than the test's own timeout, so that an unanswered request fails here, by name.
ANSWER_IN = 60.0


def budget(examples: int) -> settings:
    """``examples`` examples (times ``FUZZ_SCALE``), the same ones on every run."""
    return settings(
        max_examples=examples * FUZZ_SCALE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        print_blob=False,
        # The fixtures (tenants, tokens, the sandbox, the registry) are meant to be shared
        # by the examples; slow and large examples are the point.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


class ErrorLog(logging.Handler):
    """Every ERROR (and worse) record logged anywhere: a traceback the server wrote."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        seen = [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in self.records]
        self.records.clear()
        return seen


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.fixture
def fuzz_limits(settings: Any) -> None:
    """Budgets that would otherwise refuse most examples before they reach the code under
    test; they have tests of their own."""
    settings.TENANT_RATE_LIMIT = "1000000/m"
    settings.WS_MAX_FRAMES_PER_SECOND = 1_000_000


async def asgi_http(
    method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> Response:
    """One HTTP request, exactly as given, to the real ASGI application; a hang fails."""
    communicator = HttpCommunicator(application, method, target, body=body, headers=headers)
    response = Response(await communicator.get_response(timeout=ANSWER_IN))
    await communicator.wait(timeout=ANSWER_IN)
    return response


def assert_json_error(response: Response, method: str) -> None:
    """A refusal is the JSON APIs' one error shape (config/jsonapi.py), never a 5xx."""
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if response.status_code < 400 or method == "HEAD":
        return
    assert response["Content-Type"] == "application/json", response.content[:500]
    body = json.loads(response.content)
    assert isinstance(body["code"], str), body
    assert isinstance(body["message"], str), body
