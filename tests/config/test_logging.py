from __future__ import annotations

import json
import logging

from config.logging import RedactingFormatter, TenantContextFilter, redact, tenant_logging

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJsb2NhdGlvbklkIjoieCJ9.c2lnbmF0dXJlLXZhbHVl"


def test_it_redacts_credential_shapes():
    line = (
        f"Authorization: Bearer {JWT} refresh_token=abc123def456 "
        '{"accessToken": "tok-9876543210"} pit-0123abcd-4567-89ab-cdef-0123456789ab'
    )
    scrubbed = redact(line)
    assert JWT not in scrubbed
    assert "abc123def456" not in scrubbed
    assert "tok-9876543210" not in scrubbed
    assert "pit-0123abcd" not in scrubbed
    assert scrubbed.count("[redacted]") >= 4


def test_it_redacts_a_known_secret_value_of_any_shape():
    assert redact("child said: opaque-value-42", secrets=["opaque-value-42"]) == (
        "child said: [redacted]"
    )


def test_log_lines_carry_the_tenant_and_never_the_token():
    formatter = RedactingFormatter("tenant=%(tenant)s %(message)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "calling with %s", (JWT,), None)
    with tenant_logging("acme"):
        TenantContextFilter().filter(record)
    assert formatter.format(record) == "tenant=acme calling with [redacted]"


def test_tracebacks_are_redacted_too():
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ValueError(f"GHL said no to Bearer {JWT}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    output = formatter.format(record)
    assert "ValueError" in output
    assert JWT not in output


def test_json_lines_hold_the_exception_on_one_line_redacted():
    from config.logging import JsonFormatter, current_request_id

    try:
        raise ValueError(f"GHL said no to Bearer {JWT}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "hub", logging.ERROR, __file__, 1, "boom %s", ("x",), sys.exc_info()
        )
    token = current_request_id.set("req-1")
    try:
        with tenant_logging("acme"):
            TenantContextFilter().filter(record)
    finally:
        current_request_id.reset(token)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "hub", "boom x")
    assert (entry["tenant"], entry["request_id"]) == ("acme", "req-1")
    assert "ValueError" in entry["exception"]
    assert JWT not in line


def test_oauth_query_values_are_redacted():
    line = redact("GET /cb/?state=abc&code=def123&next=/home and /chat?token=t0k3n")
    assert line == "GET /cb/?state=[redacted]&code=[redacted]&next=/home and /chat?token=[redacted]"
