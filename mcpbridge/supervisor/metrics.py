"""Prometheus metrics of the MCP children. No tenant label anywhere: cardinality stays flat.

Every series carries a ``worker`` label (host name and pid), so the replicas behind
one proxy, or workers sharing one scrape target, can be told apart and summed.
"""

from __future__ import annotations

import os
import socket
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mcpbridge.supervisor.processes import process_rss_bytes


def worker_name() -> str:
    """Host name (a container's id under compose) and pid: unique among live workers."""
    return f"{socket.gethostname()}-{os.getpid()}"


WORKER = worker_name()


class PerWorker:
    """A labelled metric whose ``worker`` label is filled in: ``labels(reason)`` as before."""

    def __init__(self, metric: Any) -> None:
        self._metric = metric

    def labels(self, *values: str) -> Any:
        return self._metric.labels(WORKER, *values)


SPAWNS = Counter("mcp_spawns", "MCP child processes started.", ["worker"]).labels(WORKER)
CRASHES = Counter(
    "mcp_crashes",
    "MCP children that exited or stopped answering without being asked to.",
    ["worker"],
).labels(WORKER)
REAPS = PerWorker(
    Counter("mcp_reaps", "MCP children closed on purpose, by reason.", ["worker", "reason"])
)
AT_CAPACITY = Counter(
    "mcp_at_capacity_refusals",
    "Uses refused because MCP_MAX_CHILDREN children were busy, or every uid of MCP_CHILD_UIDS "
    "was taken, and none could be closed.",
    ["worker"],
).labels(WORKER)
SPAWN_SECONDS = Histogram(
    "mcp_spawn_seconds",
    "From spawn to a completed MCP initialise.",
    ["worker"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
).labels(WORKER)
TOOL_CALL_SECONDS = Histogram(
    "mcp_tool_call_seconds",
    "Duration of MCP tool calls through the registry.",
    ["worker"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
).labels(WORKER)
TOOL_CALLS = PerWorker(
    Counter("mcp_tool_calls", "MCP tool calls, by outcome.", ["worker", "outcome"])
)
RATE_LIMIT_REFUSALS = Counter(
    "mcp_rate_limit_refusals",
    "Tool calls refused because the tenant's TENANT_RATE_LIMIT budget was spent.",
    ["worker"],
).labels(WORKER)

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
        active = GaugeMetricFamily(
            "mcp_children_active", "MCP child processes alive in this worker.", labels=["worker"]
        )
        active.add_metric([WORKER], len(pids))
        memory = GaugeMetricFamily(
            "mcp_children_rss_bytes",
            "Resident memory of this worker's MCP children.",
            labels=["worker"],
        )
        memory.add_metric([WORKER], rss)
        yield active
        yield memory


REGISTRY.register(ChildrenCollector())
