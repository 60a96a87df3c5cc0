"""The base of this server's errors: the project's one error shape, restated.

``code``, ``message`` (safe to show a user), ``retry_after`` and ``permanent``, as in
``config.errors``; restated here because this server is a program of its own that
imports neither Django nor the rest of the project. Tools turn these errors into an
MCP error result whose text is the message.
"""

from __future__ import annotations


class GhlServerError(Exception):
    code = "ghl_server_error"
    default_message = "The HighLevel tool failed."
    #: True when retrying the same request soon is pointless.
    permanent = False

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        permanent: bool | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.retry_after = retry_after
        if code is not None:
            self.code = code
        if permanent is not None:
            self.permanent = permanent
        super().__init__(self.message)
