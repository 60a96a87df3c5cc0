"""Prometheus metrics of the MCP children. No tenant label anywhere: cardinality stays flat."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import Protocol

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mcpbridge.supervisor.processes import process_rss_bytes

SPAWNS = Counter("mcp_spawns", "MCP child processes started.")
CRASHES = Counter(
    "mcp_crashes", "MCP children that exited or stopped answering without being asked to."
)
REAPS = Counter("mcp_reaps", "MCP children closed on purpose, by reason.", ["reason"])
SPAWN_SECONDS = Histogram(
    "mcp_spawn_seconds",
    "From spawn to a completed MCP initialise.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
TOOL_CALL_SECONDS = Histogram(
    "mcp_tool_call_seconds",
    "Duration of MCP tool calls through the registry.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
TOOL_CALLS = Counter("mcp_tool_calls", "MCP tool calls, by outcome.", ["outcome"])

REAP_REASONS = (
    "idle",
    "lifetime",
    "capacity",
    "rotated",
    "revoked",
    "admin",
    "shutdown",
    "unresponsive",
)
CALL_OUTCOMES = ("ok", "tool_error", "error", "timeout", "crashed")
for _reason in REAP_REASONS:
    REAPS.labels(_reason)
for _outcome in CALL_OUTCOMES:
    TOOL_CALLS.labels(_outcome)


class HasChildren(Protocol):
    def live_pids(self) -> Iterable[int]: ...


_sources: weakref.WeakSet[HasChildren] = weakref.WeakSet()


def track(source: HasChildren) -> None:
    """Count ``source``'s live children in the gauges below, for as long as it exists."""
    _sources.add(source)


class ChildrenCollector(Collector):
    """Read at scrape time, so the gauges can never drift from the processes that exist."""

    def collect(self) -> Iterator[Metric]:
        pids = [pid for source in list(_sources) for pid in source.live_pids()]
        rss = sum(process_rss_bytes(pid) or 0 for pid in pids)
        yield GaugeMetricFamily(
            "mcp_children_active", "MCP child processes alive in this worker.", value=len(pids)
        )
        yield GaugeMetricFamily(
            "mcp_children_rss_bytes", "Resident memory of this worker's MCP children.", value=rss
        )


REGISTRY.register(ChildrenCollector())
