"""A child's output on its way to the log: redacted, tagged with the tenant, rate-bounded."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable

child_logger = logging.getLogger("mcpbridge.child")

Redactor = Callable[[str, Iterable[str]], str]

MAX_LOG_LINE = 4096
# A child's stderr and stray stdout are always read in full, but only so many lines a
# second reach the log: a chatty or looping child must not drown every other tenant's
# lines. Both share one budget.
LOG_BURST = 200
LOG_LINES_PER_SECOND = 50.0


class ChildLog:
    def __init__(self, tag: str, secrets: tuple[str, ...], redact: Redactor) -> None:
        self.tag = tag
        self.secrets = secrets
        self.redact = redact
        self.tail: deque[str] = deque(maxlen=5)
        self._budget = float(LOG_BURST)
        self._refilled = time.monotonic()
        self._dropped = 0

    def line(self, text: str) -> None:
        """A line of stderr, or of a log message the child sent over MCP."""
        self._emit(logging.INFO, "%s", text)

    def stray(self, text: str) -> None:
        """A stdout line that is no JSON-RPC message (an MCP server may print only those)."""
        self._emit(logging.WARNING, "not JSON-RPC on stdout: %s", text)

    def flush(self) -> None:
        if self._dropped:
            child_logger.warning(
                "%d lines of output were not logged (too many too fast)",
                self._dropped,
                extra={"tenant": self.tag},
            )
            self._dropped = 0

    def _emit(self, level: int, template: str, text: str) -> None:
        text = text.rstrip("\r")
        if not text.strip() or not self._allowed():
            return
        # Redacted before it is cut: a cut through a token would leave a piece no
        # redactor recognises.
        text = self.redact(text, self.secrets)
        if len(text) > MAX_LOG_LINE:
            text = text[:MAX_LOG_LINE] + " [truncated]"
        self.tail.append(text)
        child_logger.log(level, template, text, extra={"tenant": self.tag})

    def _allowed(self) -> bool:
        now = time.monotonic()
        refill = (now - self._refilled) * LOG_LINES_PER_SECOND
        self._budget = min(float(LOG_BURST), self._budget + refill)
        self._refilled = now
        if self._budget < 1:
            self._dropped += 1
            return False
        self._budget -= 1
        self.flush()
        return True
