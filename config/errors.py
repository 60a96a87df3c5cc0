"""The one shape every domain error has, and the base of the web process's errors.

Each error says what went wrong in a form a boundary can pass on as it is:

* ``code``: a stable snake_case word that clients match on (never renamed);
* ``message``: a sentence safe to show a user and to log (never a token);
* ``retry_after``: seconds after which the same request may succeed, when known;
* ``permanent``: True when retrying the same request soon is pointless.

A view, consumer or tool service catches the family's base once and answers
``{"code", "message"}`` (with ``Retry-After`` when given), a socket event or a
page; nothing below it formats errors.

There are three families with this shape, one per boundary, because the code on
each side of a boundary may not import the others:

* :class:`HubError` (here): the web process, that is ``config``, ``tenants`` and
  the Django side of ``mcpbridge`` (registry, ways in, chat). ``tenants`` may not
  import ``mcpbridge``, so the base lives in ``config``; this module imports
  nothing, Django included.
* ``mcpbridge.supervisor.errors.BridgeError``: the process supervisor, which
  imports no Django and no other app (not even this module).
* ``mcpbridge.ghl.errors.GhlServerError``: the MCP server each child runs, a
  program of its own.

The shapes are kept identical by ``tests/config/test_errors.py``, which also
checks that every exception class of the project belongs to one family.
"""

from __future__ import annotations


class HubError(Exception):
    code = "hub_error"
    default_message = "Something went wrong; try again in a moment."
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
