from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mcpbridge.sandbox.cli import add_arguments, sandbox_run


class Command(BaseCommand):
    help = "Run the local GHL sandbox (OAuth and API stand-in) for offline demos and development."

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        def out(text: str) -> None:
            self.stdout.write(text)
            self.stdout.flush()

        sandbox_run(
            host=options["host"],
            port=options["port"],
            client_id=options["client_id"],
            client_secret=options["client_secret"],
            webhook_url=options["webhook_url"],
            out=out,
        )
