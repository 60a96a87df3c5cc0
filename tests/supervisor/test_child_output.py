from __future__ import annotations

import logging

import pytest

from mcpbridge.supervisor.child_log import LOG_BURST, MAX_LOG_LINE
from mcpbridge.supervisor.supervisor import Supervisor
from tests.supervisor.conftest import fixed, make_spec

NOISE_LINES = 20_000


def dropped_count(records: list[logging.LogRecord]) -> int:
    notices = [r.getMessage() for r in records if "not logged" in r.getMessage()]
    return sum(int(notice.split()[0]) for notice in notices)


async def test_non_json_lines_on_stdout_are_logged_bounded_counted_and_redacted(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
):
    spec = make_spec("acme")
    token = spec.env["GHL_ACCESS_TOKEN"]
    with caplog.at_level(logging.DEBUG):
        async with supervisor.acquire("acme", fixed(spec), version=1) as client:
            noisy = await client.call_tool("stdout_noise", {"lines": NOISE_LINES})
            echoed = await client.call_tool("echo", {"text": "after"})
        await supervisor.shutdown()
    assert noisy.content[0].text == "noisy"
    assert echoed.content[0].text == "after"
    ours = [r for r in caplog.records if r.name.split(".")[0] in {"mcp", "mcpbridge"}]
    noise = [r for r in ours if "garbage line" in r.getMessage()]
    # A bounded share reaches the log; every other line is counted in a warning.
    assert len(noise) >= LOG_BURST
    assert len(ours) < 2_000
    assert len(noise) + dropped_count(ours) == NOISE_LINES
    assert {r.tenant for r in noise} == {"acme"}
    assert token not in caplog.text
    assert "garbage line holding [redacted]" in noise[0].getMessage()


async def test_a_long_non_json_line_on_stdout_is_logged_truncated(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
):
    spec = make_spec("acme")
    with caplog.at_level(logging.INFO, logger="mcpbridge.child"):
        async with supervisor.acquire("acme", fixed(spec), version=1) as client:
            await client.call_tool("stdout_noise", {"lines": 1, "width": 1024 * 1024})
        await supervisor.shutdown()
    [line] = [r.getMessage() for r in caplog.records if "garbage line" in r.getMessage()]
    assert len(line) < MAX_LOG_LINE + 100
    assert line.endswith("[truncated]")
