"""Benchmark of a slow token refresh: one tenant waiting on GHL's token endpoint must not
make another tenant, or ``/health``, wait with it.

    python bench/slow_refresh_bench.py [--calls 20] [--delay 8] [--concurrent 5]

Starts the GHL sandbox, a throwaway SQLite database and two tenants, acme (Bright Smile
Dental) and globex (Summit Roofing), connected with real sandbox tokens and each given an
API token. Every request goes through the real ASGI application (``config.asgi.application``):
``POST /mcp/<slug>/tool/get_location`` with ``Authorization: Bearer <token>``, and
``GET /health``. First a baseline, with no refresh in flight and both children warm: the
median (p50) of --calls sequential calls for globex, for acme and for ``/health``. Then
acme's stored access token is made expired and the sandbox holds its ``/oauth/token`` for
--delay seconds before answering as usual, while --concurrent acme calls wait on that
refresh; meanwhile the same globex calls and ``/health`` requests are timed again. It prints
each next to its baseline, acme's own call latency (about the delay) and how many refresh
requests GHL saw (one, however many acme callers wait).

Before the fix, with an 8 s token endpoint, the other tenant's call took 8.1 s and
``/health`` answered 503 after 8.3 s: the refresh held a thread (and the row lock) that
they needed. Compare these figures with that.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WORK = Path(tempfile.mkdtemp(prefix="slow-refresh-bench-"))
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings",
    DEBUG="1",
    DATABASE_URL=f"sqlite:///{WORK / 'bench.sqlite3'}",
    MCP_RUN_DIR=str(WORK / "run"),
    TENANT_RATE_LIMIT="1000000/m",
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.testing import HttpCommunicator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from config.asgi import application  # noqa: E402
from mcpbridge.registry import get_registry  # noqa: E402
from mcpbridge.sandbox import DENTAL, ROOFING, Sandbox  # noqa: E402
from tenants.access import api_token_create  # noqa: E402
from tenants.models import Tenant, TenantSecret  # noqa: E402
from tests.ways_in.conftest import tenant_connect  # noqa: E402

CALL = "/mcp/{slug}/tool/get_location"


@dataclass
class Answer:
    status: int
    seconds: float


def tenant_with_token(sandbox: Sandbox, slug: str, location_id: str) -> tuple[Tenant, str]:
    """A tenant stored from real sandbox tokens, as a deploy script would, and its API token."""
    tenant = tenant_connect(sandbox, slug, location_id)
    return tenant, api_token_create(tenant=tenant, name="bench", created_by=None)[1]


def expire(tenant: Tenant) -> None:
    """acme's access token is past its time: its next call refreshes it at GHL."""
    TenantSecret.objects.filter(tenant=tenant).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )


async def request(method: str, path: str, token: str | None = None) -> Answer:
    headers = [(b"host", b"localhost")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    body = b"{}" if method == "POST" else b""
    started = time.perf_counter()
    communicator = HttpCommunicator(application, method, path, body=body, headers=headers)
    response = await communicator.get_response(timeout=120)
    elapsed = time.perf_counter() - started
    await communicator.wait(timeout=5)
    return Answer(response["status"], elapsed)


async def sequential(calls: int, method: str, path: str, token: str | None = None) -> list[Answer]:
    return [await request(method, path, token) for _ in range(calls)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def statuses(answers: list[Answer]) -> str:
    counts = Counter(answer.status for answer in answers)
    return ", ".join(f"{count}x {status}" for status, count in sorted(counts.items()))


def line(name: str, held: list[Answer], base: list[Answer]) -> None:
    held_p50 = statistics.median(a.seconds for a in held)
    base_p50 = statistics.median(a.seconds for a in base)
    worst = max(a.seconds for a in held)
    print(
        f"  {name:24s} p50 {ms(held_p50)} (baseline {ms(base_p50)}, x{held_p50 / base_p50:5.2f})"
        f"   max {ms(worst)}   {statuses(held)}"
    )


async def run(calls: int, delay: float, concurrent: int) -> None:
    sandbox = Sandbox().start()
    settings.GHL_BASE_URL = sandbox.url
    settings.GHL_CLIENT_ID = sandbox.state.client_id
    settings.GHL_CLIENT_SECRET = sandbox.state.client_secret
    await sync_to_async(call_command)("migrate", verbosity=0)
    acme, acme_token = await sync_to_async(tenant_with_token)(sandbox, "acme", DENTAL)
    _, globex_token = await sync_to_async(tenant_with_token)(sandbox, "globex", ROOFING)
    acme_path, globex_path = CALL.format(slug="acme"), CALL.format(slug="globex")

    # Warm both children (spawn included) before anything is timed.
    cold: list[float] = []
    for path, token in ((acme_path, acme_token), (globex_path, globex_token)):
        answers = await sequential(3, "POST", path, token)
        if any(answer.status != 200 for answer in answers):
            raise RuntimeError(f"warm-up call to {path} answered {statuses(answers)}")
        cold.append(answers[0].seconds)
    await sequential(3, "GET", "/health")

    base = {
        "globex": await sequential(calls, "POST", globex_path, globex_token),
        "acme": await sequential(calls, "POST", acme_path, acme_token),
        "health": await sequential(calls, "GET", "/health"),
    }

    await sync_to_async(expire)(acme)
    gate = threading.Event()
    held = sandbox.hold("/oauth/token", gate)
    opened: list[float] = []

    def release() -> None:
        opened.append(time.perf_counter())
        gate.set()

    timer = threading.Timer(delay, release)
    started = time.perf_counter()
    timer.start()
    acme_calls = [
        asyncio.ensure_future(request("POST", acme_path, acme_token)) for _ in range(concurrent)
    ]
    deadline = time.monotonic() + 30
    while held.remaining:
        if time.monotonic() > deadline:
            raise RuntimeError("acme's refresh never reached the sandbox")
        await asyncio.sleep(0.01)
    during = {
        "globex": await sequential(calls, "POST", globex_path, globex_token),
        "health": await sequential(calls, "GET", "/health"),
    }
    measured_while_held = not gate.is_set()
    acme_answers = await asyncio.gather(*acme_calls)
    timer.join()
    after_gate = time.perf_counter() - opened[0]
    held_for = opened[0] - started

    print(
        f"get_location over HTTP, {calls} sequential calls each; acme's /oauth/token held "
        f"{delay:g} s with {concurrent} acme calls waiting on it"
    )
    line("globex call", during["globex"], base["globex"])
    line("/health", during["health"], base["health"])
    acme_p50 = statistics.median(a.seconds for a in acme_answers)
    print(
        f"  {'acme call (refreshing)':24s} p50 {ms(acme_p50)} (its own baseline "
        f"{ms(statistics.median(a.seconds for a in base['acme']))}, delay {ms(delay)})"
        f"   max {ms(max(a.seconds for a in acme_answers))}   {statuses(acme_answers)}"
    )
    print(
        f"  {'':24s} of which GHL held the refresh {held_for:.2f} s; the last acme call ended "
        f"{after_gate:.2f} s after GHL answered\n"
        f"  {'':24s} (a new token means a new acme child; a cold child's first call took "
        f"{min(cold):.2f}-{max(cold):.2f} s in the warm-up)"
    )
    print(
        f"  refresh requests GHL saw: {sandbox.token_requests['refresh_token']} "
        f"for {concurrent} concurrent acme calls"
    )
    if not measured_while_held:
        print("  (the delay ran out before the timed calls ended: raise --delay)")
    await get_registry().shutdown()
    sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--delay", type=float, default=8.0)
    parser.add_argument("--concurrent", type=int, default=5)
    args = parser.parse_args()
    try:
        asyncio.run(run(args.calls, args.delay, args.concurrent))
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
