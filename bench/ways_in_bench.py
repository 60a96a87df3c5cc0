"""Benchmark of the ways in: a tool call over HTTP and over the websocket, against the same
call made directly through the registry, in one process, on one warm GHL child.

    python bench/ways_in_bench.py [--calls 200] [--tool NAME --arguments JSON] [--concurrency 10]

Starts the GHL sandbox, a throwaway SQLite database and one tenant wired to the sandbox,
then prints the median, mean and p95 of each way, their ratio to the direct call, and the
throughput of --concurrency sockets calling at once. The default tool, search_operations,
is answered by the child itself: a tool that reaches GHL (get_location) is held to GHL's
budget of 100 requests per 10 s per location, which the child keeps to (90 by default),
and then measures the limiter rather than the ways in. The HTTP and websocket requests go
through the real ASGI application (``config.asgi.application``), auth and rate limit
included (the limit is raised so it never answers 429).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WORK = Path(tempfile.mkdtemp(prefix="ways-in-bench-"))
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings",
    DEBUG="1",
    DATABASE_URL=f"sqlite:///{WORK / 'bench.sqlite3'}",
    MCP_RUN_DIR=str(WORK / "run"),
    TENANT_RATE_LIMIT="1000000/m",
    WS_MAX_FRAMES_PER_SECOND="100000",
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.testing import HttpCommunicator, WebsocketCommunicator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from config.asgi import application  # noqa: E402
from mcpbridge.registry import get_registry  # noqa: E402
from mcpbridge.sandbox import DENTAL, Sandbox  # noqa: E402
from tenants.access import api_token_create  # noqa: E402
from tenants.credentials import upsert_credentials  # noqa: E402
from tenants.models import Tenant  # noqa: E402


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"median {statistics.median(ordered) * 1000:7.2f} ms   "
        f"mean {statistics.fmean(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"
    )


def setup(sandbox: Sandbox) -> tuple[Tenant, str]:
    call_command("migrate", verbosity=0)
    tokens = sandbox.mint_tokens(DENTAL)
    tenant, _ = upsert_credentials(
        {
            "tenantId": "bench",
            "locationId": DENTAL,
            "accessToken": tokens["access_token"],
            "refreshToken": tokens["refresh_token"],
            "expiresIn": tokens["expires_in"],
        }
    )
    return tenant, api_token_create(tenant=tenant, name="bench", created_by=None)[1]


async def timed(calls: int, one: Callable[[], Awaitable[None]]) -> list[float]:
    for _ in range(5):
        await one()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await one()
        samples.append(time.perf_counter() - started)
    return samples


async def run(calls: int, tool: str, arguments: dict, concurrency: int) -> None:
    sandbox = Sandbox().start()
    settings.GHL_BASE_URL = sandbox.url
    tenant, token = await sync_to_async(setup)(sandbox)
    auth = (b"authorization", f"Bearer {token}".encode())

    async def direct() -> None:
        async with get_registry().acquire(tenant) as client:
            result = await client.call_tool(tool, arguments)
        if result.is_error:
            raise RuntimeError(result.content)

    async def http() -> None:
        communicator = HttpCommunicator(
            application, "POST", f"/mcp/bench/tool/{tool}", body=json.dumps(arguments).encode(),
            headers=[(b"host", b"localhost"), auth],
        )  # fmt: skip
        response = await communicator.get_response(timeout=30)
        await communicator.wait(timeout=5)
        if response["status"] != 200:
            raise RuntimeError(response["body"])

    socket = WebsocketCommunicator(application, "/ws/tenants/bench/", headers=[auth])
    await socket.connect()
    counter = iter(range(10**9))

    async def websocket() -> None:
        call_id = next(counter)
        call = {"type": "tools.call", "id": call_id, "name": tool, "arguments": arguments}
        await socket.send_json_to(call)
        while True:
            event = await socket.receive_json_from(timeout=30)
            if event.get("id") == call_id and event["type"] in ("tool.result", "tool.error"):
                if event["type"] != "tool.result":
                    raise RuntimeError(event)
                return

    print(f"{tool} on one warm GHL child (sandbox), {calls} sequential calls each way")
    results = {}
    for name, one in (
        ("direct registry call", direct),
        ("HTTP POST", http),
        ("websocket", websocket),
    ):
        results[name] = await timed(calls, one)
    base = statistics.median(results["direct registry call"])
    for name, samples in results.items():
        ratio = statistics.median(samples) / base
        print(f"  {name:22s} {summary(samples)}   x{ratio:5.2f} of direct")
    await socket.disconnect()
    await throughput(tool, arguments, token, concurrency, calls)
    await get_registry().shutdown()
    sandbox.stop()


async def throughput(tool: str, arguments: dict, token: str, concurrency: int, calls: int) -> None:
    headers = [(b"authorization", f"Bearer {token}".encode())]
    sockets = [WebsocketCommunicator(application, "/ws/tenants/bench/", headers=headers)
               for _ in range(concurrency)]  # fmt: skip
    for socket in sockets:
        await socket.connect()
    per_socket = max(1, calls // concurrency)

    async def drive(socket: WebsocketCommunicator) -> None:
        for call_id in range(per_socket):
            call = {"type": "tools.call", "id": call_id, "name": tool, "arguments": arguments}
            await socket.send_json_to(call)
        done = 0
        while done < per_socket:
            event = await socket.receive_json_from(timeout=60)
            done += event["type"] in ("tool.result", "tool.error")

    started = time.perf_counter()
    await asyncio.gather(*(drive(socket) for socket in sockets))
    elapsed = time.perf_counter() - started
    total = per_socket * concurrency
    print(
        f"  {concurrency} sockets x {per_socket} calls in flight at once: {total} calls in "
        f"{elapsed:.2f} s, {total / elapsed:.0f} calls/s"
    )
    for socket in sockets:
        await socket.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--tool", default="search_operations")
    parser.add_argument("--arguments", default='{"query": "contact", "limit": 1}')
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    try:
        asyncio.run(run(args.calls, args.tool, json.loads(args.arguments), args.concurrency))
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
