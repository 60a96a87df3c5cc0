"""Logging to stderr (stdout carries MCP messages only) with the token scrubbed."""

from __future__ import annotations

import logging
import sys

from mcpbridge.ghl.redact import Redactor


class RedactingFormatter(logging.Formatter):
    """Remove the token, and anything shaped like a credential, from whole records."""

    def __init__(self, fmt: str, secrets: tuple[str, ...]) -> None:
        super().__init__(fmt)
        self.redactor = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.text(super().format(record))


def logging_configure(*, level: str, secrets: tuple[str, ...]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    # httpx logs every request at INFO; our own log line per call says more.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
