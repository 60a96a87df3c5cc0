from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from mcpbridge.sandbox.seed import APP_ID
from mcpbridge.sandbox.server import Sandbox


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def demo_environment(sandbox: Sandbox) -> dict[str, str]:
    """What points the web app at the sandbox instead of HighLevel."""
    return {
        "GHL_BASE_URL": sandbox.url,
        "GHL_MARKETPLACE_URL": sandbox.url,
        "GHL_CLIENT_ID": sandbox.state.client_id,
        "GHL_CLIENT_SECRET": sandbox.state.client_secret,
        "GHL_APP_ID": APP_ID,
        "GHL_WEBHOOK_PUBLIC_KEY": sandbox.webhooks.public_key_pem,
        "GHL_WEBHOOK_LEGACY_PUBLIC_KEY": sandbox.webhooks.legacy_public_key_pem,
    }


class Command(BaseCommand):
    help = (
        "Try the whole product offline: the GHL sandbox, and the web app configured to sign "
        "in through it and to receive its webhooks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="the web app's port")
        parser.add_argument("--sandbox-port", type=int, default=8100, help="0 picks a free one")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        site = f"http://{host}:{port}"
        sandbox = Sandbox(
            host=host, port=options["sandbox_port"], webhook_url=f"{site}/webhooks/ghl"
        )
        sandbox.start()
        env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "1"), **demo_environment(sandbox)}
        env.setdefault("SITE_URL", site)
        self._banner(site, sandbox)
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                host,
                "-p",
                str(port),
                "config.asgi:application",
            ],
            cwd=settings.BASE_DIR,
            env=env,
        )
        # A stop request (Ctrl-C or SIGTERM) must not leave the web app running alone.
        signal.signal(signal.SIGTERM, _stop)
        try:
            server.wait()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=10)
            sandbox.stop()

    def _banner(self, site: str, sandbox: Sandbox) -> None:
        lines = [
            f"GHL sandbox on {sandbox.url} (a local stand-in for HighLevel, not HighLevel)",
            f"GHL Agent Hub on {site}",
            "",
            f'  1. Open {site}/ and choose "Sign in with HighLevel".',
            "  2. On the sandbox's screen pick a sub-account and a user, then Allow.",
            "  3. You land back in the hub with that sub-account connected.",
            f"  Uninstall the app from a sub-account at {sandbox.url}/sandbox/uninstall",
            "",
            "Data of the sandbox lives in memory. Ctrl-C stops both.",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
