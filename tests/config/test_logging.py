from __future__ import annotations

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
