"""``manage.py ghl_sandbox`` / ``python -m mcpbridge.sandbox``: the sandbox for people."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from mcpbridge.sandbox.seed import APP_ID
from mcpbridge.sandbox.server import Sandbox

DEFAULT_PORT = 8100


def _one_line(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def banner(sandbox: Sandbox) -> str:
    state = sandbox.state
    lines = [
        f"GHL sandbox listening on {sandbox.url}  (a local stand-in for HighLevel, not HighLevel)",
        "",
        "OAuth app:",
        f"  authorize   {sandbox.url}/oauth/chooselocation",
        f"  token       {sandbox.url}/oauth/token",
        f"  client id   {state.client_id}",
        f"  secret      {state.client_secret}",
        f"  app id      {APP_ID}  (GHL_APP_ID)",
        "",
        "Try the GHL MCP server against it:",
    ]
    for location_id, location in state.data["locations"].items():
        token = sandbox.mint_token(location_id)
        lines += [
            f"  # {location['name']}",
            f"  GHL_BASE_URL={sandbox.url} GHL_LOCATION_ID={location_id} \\",
            f"    GHL_ACCESS_TOKEN={token} python -m mcpbridge.ghl",
        ]
    lines += [
        "",
        "Webhooks (signed with this sandbox's test keys):",
        f"  app webhook URL   {sandbox.webhooks.target_url or '(none: --webhook-url)'}",
        f"  uninstall page    {sandbox.url}/sandbox/uninstall",
        f"  GHL_WEBHOOK_PUBLIC_KEY={_one_line(sandbox.webhooks.public_key_pem)}",
        "",
        "Data lives in memory and resets when this process stops. Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--client-id", default="sandbox-client-id", help="OAuth client id the sandbox accepts"
    )
    parser.add_argument(
        "--client-secret", default="sandbox-client-secret", help="OAuth client secret it accepts"
    )
    parser.add_argument(
        "--webhook-url", default=None, help="where to send signed app events (UNINSTALL)"
    )


def sandbox_run(
    *,
    host: str,
    port: int,
    client_id: str,
    client_secret: str,
    webhook_url: str | None = None,
    out: Callable[[str], None] = print,
) -> None:
    sandbox = Sandbox(
        host=host,
        port=port,
        client_id=client_id,
        client_secret=client_secret,
        webhook_url=webhook_url,
    )
    out(banner(sandbox))
    try:
        sandbox.serve_forever()
    finally:
        sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mcpbridge.sandbox", description="Run the local GHL sandbox."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    sandbox_run(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        webhook_url=args.webhook_url,
    )
    return 0
