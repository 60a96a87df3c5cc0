"""Measure the GHL MCP child: start-up, memory, and a tool call's round trip.

Run: .venv/bin/python bench/ghl_child.py [--runs 5] [--calls 200]

Everything runs on loopback against the local GHL sandbox. Figures are printed
next to a baseline measured in the same run: start-up against a bare
``python -c "import mcp.server.lowlevel"`` (the SDK's own floor), and a tool call
against the same GHL request made directly with httpx (the MCP hop's cost).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from mcpbridge.sandbox import DENTAL, Sandbox  # noqa: E402


def child_pids() -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            pids.append(int(stat.parent.name))
    return pids


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def env_for(sandbox: Sandbox, toolset: str) -> dict[str, str]:
    return {
        "GHL_BASE_URL": sandbox.url,
        "GHL_LOCATION_ID": DENTAL,
        "GHL_ACCESS_TOKEN": sandbox.mint_token(DENTAL),
        "GHL_TOOLSET": toolset,
        "GHL_LOG_LEVEL": "WARNING",
        "GHL_RATE_LIMIT": "100000",
    }


async def one_start(sandbox: Sandbox, toolset: str) -> tuple[float, float, float, int]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpbridge.ghl"],
        env=env_for(sandbox, toolset),
        cwd=REPO_ROOT,
    )
    started = time.perf_counter()
    async with Client(stdio_client(params), mode="legacy") as client:
        initialised = time.perf_counter()
        tools = (await client.list_tools()).tools
        listed = time.perf_counter()
        memory = max((rss_mib(pid) for pid in child_pids()), default=float("nan"))
    return initialised - started, listed - started, memory, len(tools)


def baseline_start() -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import mcp.server.lowlevel, mcp.server.stdio"], check=True
    )
    return time.perf_counter() - started


async def round_trips(sandbox: Sandbox, calls: int) -> tuple[list[float], list[float]]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpbridge.ghl"],
        env=env_for(sandbox, "core"),
        cwd=REPO_ROOT,
    )
    token = sandbox.mint_token(DENTAL)
    headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    via_mcp, direct = [], []
    async with (
        Client(stdio_client(params), mode="legacy") as client,
        httpx.AsyncClient(base_url=sandbox.url, headers=headers) as http,
    ):
        await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
        await http.get("/contacts/ct_dental_alice")
        for _ in range(calls):
            t0 = time.perf_counter()
            result = await client.call_tool("get_contact", {"contactId": "ct_dental_alice"})
            t1 = time.perf_counter()
            await http.get("/contacts/ct_dental_alice")
            t2 = time.perf_counter()
            if result.is_error:
                raise SystemExit(f"get_contact failed: {result.content[0].text}")
            via_mcp.append((t1 - t0) * 1000)
            direct.append((t2 - t1) * 1000)
    return via_mcp, direct


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def main(runs: int, calls: int) -> None:
    with Sandbox(rate_limit=1_000_000) as sandbox:
        base = statistics.median(baseline_start() for _ in range(runs))
        print(
            f"GHL MCP child on {os.cpu_count()} CPUs, {runs} runs each, sandbox at {sandbox.url}\n"
        )
        print(f"baseline: python + import of the mcp SDK server   {base * 1000:7.0f} ms")
        for toolset in ("core", "full"):
            samples = [await one_start(sandbox, toolset) for _ in range(runs)]
            init = statistics.median(s[0] for s in samples)
            listed = statistics.median(s[1] for s in samples)
            memory = statistics.median(s[2] for s in samples)
            print(
                f"{toolset:>4} ({samples[0][3]:3d} tools): "
                f"spawn->initialised {init * 1000:6.0f} ms, "
                f"+tools/list {listed * 1000:6.0f} ms ({listed / base:.2f}x baseline), "
                f"RSS {memory:5.1f} MiB"
            )
        via_mcp, direct = await round_trips(sandbox, calls)
        mcp_median, direct_median = statistics.median(via_mcp), statistics.median(direct)
        print(
            f"\nget_contact through the child ({calls} calls): "
            f"median {mcp_median:.2f} ms, p95 {p95(via_mcp):.2f} ms"
        )
        print(
            f"same GHL request straight with httpx:     "
            f"median {direct_median:.2f} ms, p95 {p95(direct):.2f} ms "
            f"(MCP hop {mcp_median / direct_median:.1f}x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    anyio.run(main, args.runs, args.calls)
