"""``python -m config.serve``: daphne, with its access log handed to ``config.access``.

Takes daphne's own arguments. Daphne's access log prints every query string
verbatim (OAuth codes, ``?token=`` links) in a format of its own; the ASGI layer
in ``config.access`` writes the access log instead, redacted, in ``LOG_FORMAT``.
"""

from __future__ import annotations

import sys
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server


class QuietAccessServer(Server):  # type: ignore[misc]  # daphne ships no types
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["action_logger"] = None
        super().__init__(*args, **kwargs)


class ServeCommand(CommandLineInterface):  # type: ignore[misc]
    server_class = QuietAccessServer


def main(argv: list[str] | None = None) -> None:
    ServeCommand().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
