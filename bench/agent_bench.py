"""Benchmark of the agent loop: what it adds to the model's own latency.

    python bench/agent_bench.py [--turns 30] [--chunks 200]

Starts the GHL sandbox, a loopback OpenAI-compatible fake (tests/chat/fake_model.py) and a
tenant on a throwaway SQLite file, then prints, each next to the same measure taken with a
bare openai SDK stream against the same fake in this process:
  * time to first token: the fake writing its first chunk -> the loop emitting chat.delta
    (per turn the loop also lists the tenant's tools from its warm child);
  * a turn end to end (a 200-chunk answer), and per chunk;
  * a turn with one tool call (model -> search_contacts through the child -> model).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
_DB = Path(tempfile.mkdtemp(prefix="agent-bench-")) / "bench.sqlite3"
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings",
    DEBUG="1",
    DATABASE_URL=f"sqlite:///{_DB}",
    LOG_LEVEL="WARNING",
    MCP_RUN_DIR=str(_DB.parent / "run"),
)

import django  # noqa: E402

django.setup()

import openai  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from mcpbridge.chat.agent.loop import AgentLoop  # noqa: E402
from mcpbridge.chat.agent.model_client import AgentConfig  # noqa: E402
from mcpbridge.chat.transcript import ChatMessage  # noqa: E402
from mcpbridge.registry import get_registry  # noqa: E402
from mcpbridge.sandbox import DENTAL, Sandbox  # noqa: E402
from tenants.credentials import upsert_credentials  # noqa: E402
from tests.chat.fake_model import MODEL, FakeModel, text, tool_calls  # noqa: E402


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


async def loop_turn(tenant, config, fake: FakeModel) -> tuple[float, float, float]:
    """(turn start -> first chat.delta, first chunk written -> first chat.delta, whole turn)."""
    first: list[float] = []

    async def emit(event) -> None:
        if event["type"] == "chat.delta" and not first:
            first.append(time.perf_counter())

    started = time.perf_counter()
    await AgentLoop(tenant=tenant, emit=emit, config=config).run([ChatMessage("user", "Hi")])
    ended = time.perf_counter()
    return first[0] - started, first[0] - fake.first_chunks[-1], ended - started


async def bare_turn(client: openai.AsyncOpenAI, fake: FakeModel) -> tuple[float, float, float]:
    """The same with a bare SDK stream: no tools, no loop."""
    first: list[float] = []
    started = time.perf_counter()
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    async with stream:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content and not first:
                first.append(time.perf_counter())
    ended = time.perf_counter()
    return first[0] - started, first[0] - fake.first_chunks[-1], ended - started


async def main(turns: int, chunks: int) -> None:
    with Sandbox() as sandbox, FakeModel() as fake:
        settings.GHL_BASE_URL = sandbox.url
        await sync_to_async(call_command)("migrate", verbosity=0)
        tenant, _ = await sync_to_async(upsert_credentials)(
            {**sandbox.mint_tokens(DENTAL), "tenantId": "dental"}
        )
        config = AgentConfig(base_url=fake.url, api_key="bench", model=MODEL, max_retries=0)
        answer = [f"w{n} " for n in range(chunks)]
        bare = openai.AsyncOpenAI(base_url=fake.url, api_key="bench", max_retries=0)

        fake.push(text("warm"))
        cold = time.perf_counter()
        await loop_turn(tenant, config, fake)
        print(f"first turn (child spawn included): {(time.perf_counter() - cold) * 1000:.0f} ms")

        results: dict[str, list[tuple[float, float, float]]] = {"loop": [], "bare": []}
        for _ in range(turns):
            fake.push(text(*answer))
            results["loop"].append(await loop_turn(tenant, config, fake))
            fake.push(text(*answer))
            results["bare"].append(await bare_turn(bare, fake))
        await bare.close()

        tool_turns = []
        for _ in range(max(5, turns // 3)):
            fake.push(tool_calls(("search_contacts", {"query": "Alice"})), text("Alice."))
            started = time.perf_counter()
            await AgentLoop(tenant=tenant, emit=_ignore, config=config).run(
                [ChatMessage("user", "Who is Alice?")]
            )
            tool_turns.append(time.perf_counter() - started)
        await get_registry().shutdown()

    loop_ttft, loop_first, loop_total = (
        list(column) for column in zip(*results["loop"], strict=True)
    )
    bare_ttft, bare_first, bare_total = (
        list(column) for column in zip(*results["bare"], strict=True)
    )
    print(f"\n{turns} turns, {chunks}-chunk answers, against a loopback fake model")
    print(f"turn start -> first token, loop  : {ms(loop_ttft)}")
    print(f"turn start -> first token, bare  : {ms(bare_ttft)}")
    print(f"first chunk -> first token, loop : {ms(loop_first)}")
    print(f"first chunk -> first token, bare : {ms(bare_first)}")
    print(f"whole turn, loop                 : {ms(loop_total)}")
    print(f"whole turn, bare SDK stream      : {ms(bare_total)}")
    ratio = statistics.median(loop_total) / statistics.median(bare_total)
    per_chunk = (statistics.median(loop_total) - statistics.median(bare_total)) / chunks
    print(f"loop / bare (whole turn)         : {ratio:.2f}x, {per_chunk * 1e6:.1f} µs per chunk")
    print(f"turn with one tool call          : {ms(tool_turns)}")


async def _ignore(event) -> None:
    return None


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--chunks", type=int, default=200)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.turns, arguments.chunks))
