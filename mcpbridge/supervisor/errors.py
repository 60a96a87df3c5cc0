"""Errors of the MCP bridge's supervisor, each with a stable ``code`` and a message safe to
show a user.

They never carry a token, a command line or a process's output: callers turn them
into an HTTP status or a socket event as they are. :class:`BridgeError` has the shape
of every domain error in the project (``code``, ``message``, ``retry_after``,
``permanent``; see ``config.errors``), restated here because the supervisor imports
no Django and no other part of the project.
"""

from __future__ import annotations


class BridgeError(Exception):
    code = "bridge_error"
    default_message = "The assistant's tools are unavailable right now."
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


class AtCapacityError(BridgeError):
    code = "at_capacity"
    default_message = "Every tool process on this server is busy; try again in a moment."


class NoFreeUidError(AtCapacityError):
    """Every uid of the children's range runs a live child (of this worker or another).

    The code stays ``at_capacity``: for the caller it is the same wait for room; the
    log tells operators which limit was reached.
    """

    default_message = "Every tool process on this server is busy; try again in a moment."


class ShuttingDownError(BridgeError):
    code = "shutting_down"
    default_message = "This server is restarting; try again in a moment."


class ChildStartFailedError(BridgeError):
    code = "child_start_failed"
    default_message = "The tool process for this account could not be started."


class ChildRestartingError(BridgeError):
    code = "child_restarting"
    default_message = "The tool process for this account failed and is waiting to restart."


class ChildFailedError(BridgeError):
    code = "child_failed"
    default_message = (
        "The tool process for this account keeps failing and has been stopped; "
        "staff have been told."
    )
    permanent = True


class ChildCrashedError(BridgeError):
    code = "child_crashed"
    default_message = "The tool process for this account stopped unexpectedly; try again."


class ChildUnresponsiveError(ChildCrashedError):
    code = "child_unresponsive"
    default_message = "The tool process for this account stopped answering and was restarted."


class ChildStoppedError(BridgeError):
    code = "child_stopped"
    default_message = "The tool process for this account was stopped; try again."


class CallTimeoutError(BridgeError):
    code = "call_timeout"
    default_message = "The tool took too long to answer and was abandoned."


class ToolCallFailedError(BridgeError):
    code = "tool_call_failed"
    default_message = "The tool could not be run."


class TenantUnavailableError(BridgeError):
    code = "tenant_unavailable"
    default_message = "This account cannot use its tools until it is signed in to HighLevel again."
    permanent = True


class GhlUnavailableError(BridgeError):
    """HighLevel could not renew the account's access just now; the stored tokens are kept."""

    code = "ghl_unavailable"
    default_message = (
        "HighLevel is not answering for this account right now; try again in a moment."
    )


class UnknownToolError(BridgeError):
    code = "unknown_tool"
    default_message = "This account has no tool of that name."
    permanent = True


class InvalidArgumentsError(BridgeError):
    code = "invalid_arguments"
    default_message = "The arguments do not match the tool's input schema."
    permanent = True

    def __init__(self, errors: list[str], message: str | None = None) -> None:
        super().__init__(message)
        self.errors = errors


class RateLimitedError(BridgeError):
    code = "rate_limited"
    default_message = "This account has made too many tool calls; try again shortly."
