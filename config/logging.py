"""Tenant-tagged, redacted logging, as text or as one JSON object per line.

Every log line carries the tenant it concerns (``tenant=-`` when none) and the
request it belongs to (``request=-`` outside one), and the formatters scrub
credentials from the whole formatted record, traceback included, so a token
that reaches an exception message still never reaches the log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

current_tenant: ContextVar[str] = ContextVar("current_tenant", default="-")
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")

REDACTED = "[redacted]"

_SECRET_PATTERNS = [
    # Authorization headers and bearer tokens anywhere in a message.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    # JSON, form or env spellings of token fields: key, then the value.
    re.compile(
        r"(?i)([\"']?(?:access|refresh|id)[_-]?token|accesstoken|refreshtoken|client[_-]?secret"
        r"|ghl_access_token|ghl_api_key|api[_-]?key|password|secret)"
        r"([\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;}]{4,})"
    ),
    # JWTs (GHL access tokens are JWTs) and GHL private integration tokens.
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\bpit-[0-9a-fA-F-]{20,}"),
    # Query values that grant something: OAuth's code and state, a ?token= link.
    re.compile(
        r"(?i)([?&;](?:code|state|token|access_token|refresh_token|client_secret|api_key)=)"
        r"[^&;#\s\"']+"
    ),
]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with known credential shapes and the given secret values removed."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _SECRET_PATTERNS[2].sub(REDACTED, text)
    text = _SECRET_PATTERNS[3].sub(REDACTED, text)
    return _SECRET_PATTERNS[4].sub(lambda m: f"{m.group(1)}{REDACTED}", text)


@contextlib.contextmanager
def tenant_logging(tenant: str) -> Iterator[None]:
    """Tag every log record made inside the block (and tasks it starts) with ``tenant``."""
    token = current_tenant.set(tenant)
    try:
        yield
    finally:
        current_tenant.reset(token)


class TenantContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "tenant"):
            record.tenant = current_tenant.get()
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


# Fields a log shipper can index, beside the standard ones, when a record carries them.
_EXTRA_FIELDS = ("method", "path", "status", "bytes", "duration_ms", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback is one string field, newlines escaped."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "tenant": getattr(record, "tenant", current_tenant.get()),
            "request_id": getattr(record, "request_id", current_request_id.get()),
        }
        for field in _EXTRA_FIELDS:
            if hasattr(record, field):
                value = getattr(record, field)
                entry[field] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["exception"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
