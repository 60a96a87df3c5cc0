"""Measure the GHL server's operation search (index build, time per query, quality) and
the size of tools/list.

Run: .venv/bin/python bench/ghl_search.py [--rounds 20]

The baseline, measured in the same run, is the cheapest possible ranking: counting
how many of the query's words occur in each operation's title (a set look-up per
operation). The ratio says what BM25 with stemming and the vocabulary costs over it.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from mcpbridge.ghl.catalogue import Catalogue, catalogue_load  # noqa: E402
from mcpbridge.ghl.tools import toolset_build  # noqa: E402
from tests.ghl.search_requests import REQUESTS  # noqa: E402


def baseline_search(catalogue: Catalogue, titles: dict[str, set[str]], query: str) -> list[str]:
    wanted = set(re.findall(r"[a-z0-9]+", query.lower()))
    scored = [(len(wanted & words), op_id) for op_id, words in titles.items()]
    return [op_id for score, op_id in sorted(scored, reverse=True)[:20] if score]


def per_query_ms(run, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for query, _expected in REQUESTS:
            run(query)
        samples.append((time.perf_counter() - started) * 1000 / len(REQUESTS))
    return statistics.median(samples)


def quality(catalogue: Catalogue) -> tuple[float, float]:
    first = top3 = 0
    for query, expected in REQUESTS:
        found = [op.id for op in catalogue.search(query, limit=3)]
        first += found[:1] == [expected]
        top3 += expected in found
    return first / len(REQUESTS), top3 / len(REQUESTS)


def tools_list_bytes(catalogue: Catalogue, toolset: str) -> int:
    """The size of the whole tools/list answer (all pages) as JSON on the wire."""
    tools = [entry.tool for entry in toolset_build(toolset, catalogue).values()]
    dumped = [tool.model_dump(by_alias=True, mode="json", exclude_none=True) for tool in tools]
    return len(json.dumps({"tools": dumped}, separators=(",", ":")).encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    catalogue = catalogue_load()
    started = time.perf_counter()
    _ = catalogue.index
    build_ms = (time.perf_counter() - started) * 1000
    titles = {op.id: set(re.findall(r"[a-z0-9]+", op.title.lower())) for op in catalogue}
    search_ms = per_query_ms(lambda q: catalogue.search(q), args.rounds)
    base_ms = per_query_ms(lambda q: baseline_search(catalogue, titles, q), args.rounds)
    first, top3 = quality(catalogue)
    print(f"operations: {len(catalogue)}, requests: {len(REQUESTS)}")
    print(f"index build (first search): {build_ms:.1f} ms")
    print(f"search per query: {search_ms:.3f} ms (budget 5 ms)")
    print(f"baseline title word count per query: {base_ms:.3f} ms")
    print(f"ratio search / baseline: {search_ms / base_ms:.2f}x")
    print(f"right operation first: {first:.1%}, in the top 3: {top3:.1%}")
    for toolset in ("core", "full"):
        print(f"tools/list, {toolset}: {tools_list_bytes(catalogue, toolset):,} bytes")


if __name__ == "__main__":
    main()
