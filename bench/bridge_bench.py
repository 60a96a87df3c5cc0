"""Benchmark of the MCP bridge: cold start, warm call overhead, memory per child.

    python bench/bridge_bench.py [--tenants 10] [--calls 500] [--command "..."]

Prints, in one run:
  * cold start: acquire of a new key up to its first tools/list, over N new keys;
  * a warm tool call through the supervisor (acquire + call, and call alone) next to
    a raw stdio JSON-RPC round trip to the same kind of child, with their ratio;
  * resident memory per child.
By default the children run the small stdio MCP server of the test suite; --command
runs another (for example "python -m mcpbridge.ghl") with --tool/--arguments to call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mcpbridge.supervisor.processes import process_rss_bytes  # noqa: E402
from mcpbridge.supervisor.spec import ChildSpec  # noqa: E402
from mcpbridge.supervisor.supervisor import Supervisor, SupervisorConfig  # noqa: E402

TEST_SERVER = REPO / "tests" / "bridge" / "mcp_server.py"


def spec_for(key: str, command: tuple[str, ...]) -> ChildSpec:
    token = f"bench-token-{key}-0123456789"
    env = {
        "GHL_ACCESS_TOKEN": token,
        "GHL_API_KEY": token,
        "GHL_LOCATION_ID": f"loc-{key}",
        "GHL_BASE_URL": "http://127.0.0.1:9",
    }
    return ChildSpec(key=key, command=command, env=env, label=key, secrets=(token,), cwd=str(REPO))


def builder(spec: ChildSpec):
    async def build() -> ChildSpec:
        return spec

    return build


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"median {statistics.median(ordered) * 1000:8.2f} ms   "
        f"mean {statistics.fmean(ordered) * 1000:8.2f} ms   p95 {p95 * 1000:8.2f} ms"
    )


async def cold_starts(supervisor: Supervisor, command: tuple[str, ...], count: int) -> list[int]:
    times, pids = [], []
    for index in range(count):
        spec = spec_for(f"tenant{index}", command)
        started = time.perf_counter()
        async with supervisor.acquire(spec.key, builder(spec)) as client:
            await client.list_tools()
            times.append(time.perf_counter() - started)
            pids.append(client.pid)
    print(f"cold start, acquire to first tools/list ({count} new keys)")
    print(f"  {summary(times)}")
    return pids


class RawChild:
    """The baseline: hand-written JSON-RPC lines over the pipes of the same kind of child."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command
        self.home = tempfile.mkdtemp(prefix="bench-raw-")
        self.next_id = 0

    async def start(self) -> None:
        env = {**spec_for("raw", self.command).env, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**env, "HOME": self.home},
            cwd=str(REPO),
            limit=64 * 1024 * 1024,
        )
        hello = {"protocolVersion": "2025-11-25", "capabilities": {}}
        await self.request("initialize", {**hello, "clientInfo": {"name": "bench", "version": "1"}})
        self._write({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _write(self, message: dict) -> None:
        if self.process.stdin is None:
            raise RuntimeError("the child has no stdin")
        self.process.stdin.write(json.dumps(message).encode() + b"\n")

    async def request(self, method: str, params: dict) -> dict:
        self.next_id += 1
        self._write({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        if self.process.stdout is None:
            raise RuntimeError("the child has no stdout")
        while True:
            reply = json.loads(await self.process.stdout.readline())
            if reply.get("id") == self.next_id:
                return reply

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        await self.process.wait()
        shutil.rmtree(self.home)


async def warm_calls(
    supervisor: Supervisor, command: tuple[str, ...], tool: str, arguments: dict, calls: int
) -> dict[str, list[float]]:
    """Calls alternate between the three paths, so load on the machine hits them alike."""
    spec = spec_for("tenant0", command)
    raw = RawChild(command)
    await raw.start()
    times: dict[str, list[float]] = {"raw": [], "call": [], "acquire": []}
    params = {"name": tool, "arguments": arguments}
    async with supervisor.acquire(spec.key, builder(spec)) as held:
        for _ in range(calls):
            started = time.perf_counter()
            await raw.request("tools/call", params)
            times["raw"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await held.call_tool(tool, arguments)
            times["call"].append(time.perf_counter() - started)
            started = time.perf_counter()
            async with supervisor.acquire(spec.key, builder(spec)) as client:
                await client.call_tool(tool, arguments)
            times["acquire"].append(time.perf_counter() - started)
    await raw.stop()
    return times


async def main(options: argparse.Namespace) -> None:
    command = tuple(shlex.split(options.command)) or (sys.executable, str(TEST_SERVER))
    arguments = json.loads(options.arguments)
    root = Path(tempfile.mkdtemp(prefix="bench-run-"))
    config = SupervisorConfig(run_root=root, max_children=options.tenants + 5)
    supervisor = Supervisor(config)
    print(f"child command: {' '.join(command)}\n")
    try:
        pids = await cold_starts(supervisor, command, options.tenants)
        rss = [process_rss_bytes(pid) or 0 for pid in pids]
        times = await warm_calls(supervisor, command, options.tool, arguments, options.calls)
    finally:
        await supervisor.shutdown()
    raw = statistics.median(times["raw"])
    print(f"\nwarm tool call '{options.tool}' ({options.calls} calls each, interleaved)")
    print(f"  raw stdio JSON-RPC       {summary(times['raw'])}")
    ratio = statistics.median(times["call"]) / raw
    print(f"  supervisor call          {summary(times['call'])}   x{ratio:.2f} raw")
    ratio = statistics.median(times["acquire"]) / raw
    print(f"  supervisor acquire+call  {summary(times['acquire'])}   x{ratio:.2f} raw")
    print(f"\nresident memory per child ({len(rss)} children)")
    print(
        f"  median {statistics.median(rss) / 1_048_576:.1f} MiB   "
        f"max {max(rss) / 1_048_576:.1f} MiB   total {sum(rss) / 1_048_576:.1f} MiB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--command", default="")
    parser.add_argument("--tool", default="echo")
    parser.add_argument("--arguments", default='{"text": "hello"}')
    asyncio.run(main(parser.parse_args()))
