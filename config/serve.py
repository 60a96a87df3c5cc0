"""``python -m config.serve``: daphne, with its access log handed to ``config.access``
and its websockets closed properly on shutdown.

Takes daphne's own arguments. Daphne's access log prints every query string
verbatim (OAuth codes, ``?token=`` links) in a format of its own; the ASGI layer
in ``config.access`` writes the access log instead, redacted, in ``LOG_FORMAT``.
"""

from __future__ import annotations

import sys
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer, reactor

GOING_AWAY = 1001
# The clients' close frames, or autobahn's own handshake timeout (1 s), end each
# socket well within this; it only bounds a shutdown stuck on a socket that never closes.
CLOSE_WITHIN = 5.0


class QuietAccessServer(Server):  # type: ignore[misc]  # daphne ships no types
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["action_logger"] = None
        super().__init__(*args, **kwargs)

    def kill_all_applications(self) -> defer.Deferred[Any]:
        """On SIGTERM/SIGINT: close open websockets with 1001, then cancel the applications.

        daphne alone cancels every application and lets Twisted drop the connections,
        so a client sees a broken connection (1006) and cannot tell a restart from a
        fault. A close frame with "going away" lets it reconnect, maybe to another replica,
        and the consumer still gets its ``websocket.disconnect``.
        """
        closing = defer.maybeDeferred(self._close_websockets)
        closing.addBoth(lambda _: super(QuietAccessServer, self).kill_all_applications())
        return closing

    def _close_websockets(self) -> defer.Deferred[Any]:
        sockets = [
            protocol
            for protocol in self.connections
            if isinstance(protocol, WebSocketProtocol) and protocol.state == protocol.STATE_OPEN
        ]
        for protocol in sockets:
            # Not sendClose(): autobahn lets applications send only 1000 and 3000-4999.
            protocol.sendCloseFrame(code=GOING_AWAY)
        closed = defer.DeferredList([protocol.is_closed for protocol in sockets])
        return closed.addTimeout(CLOSE_WITHIN, reactor)


class ServeCommand(CommandLineInterface):  # type: ignore[misc]
    server_class = QuietAccessServer


def main(argv: list[str] | None = None) -> None:
    ServeCommand().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
