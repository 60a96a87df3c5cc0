"""Audit entries of tool calls, written off the call's path and never silently lost.

A call hands its entry to :func:`audit_submit` and answers at once. One writer task per
event loop stores what has queued up in one ``bulk_create`` (one database round trip
for a burst of calls), retrying with backoff; an entry it still cannot store is logged
at ERROR with its content, so it is in the logs if not in the table. ``audit_drain``
waits until the queue is empty: at shutdown, and in tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

from channels.db import database_sync_to_async
from django.utils import timezone

from tenants.models import AuditEntry

logger = logging.getLogger(__name__)

BATCH = 200
ATTEMPTS = 4
FIRST_BACKOFF = 0.5


@dataclass
class AuditItem:
    tenant_id: int
    actor: str
    way_in: str
    outcome: str
    user_id: int | None = None
    api_token_id: int | None = None
    tool: str = ""
    risk: str = ""
    arguments: str = ""
    conversation_id: int | None = None
    approval_needed: bool = False
    approval_decision: str = ""
    approved_by: str = ""
    approved_at: datetime | None = None
    duration_ms: int | None = None
    at: datetime = field(default_factory=timezone.now)


class _Writer:
    def __init__(self) -> None:
        self.queue: list[AuditItem] = []
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None

    def submit(self, item: AuditItem) -> None:
        self.queue.append(item)
        self.idle.clear()
        self.wake.set()
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run(), name="audit-writer")

    async def _run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.queue:
                batch, self.queue = self.queue[:BATCH], self.queue[BATCH:]
                await self._store(batch)
            self.idle.set()

    async def _store(self, batch: list[AuditItem]) -> None:
        delay = FIRST_BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await database_sync_to_async(_bulk_create)(batch)
                return
            except Exception:
                if attempt == ATTEMPTS:
                    break
                logger.warning("audit write failed (attempt %s); retrying", attempt)
                await asyncio.sleep(delay)
                delay *= 2
        for item in batch:
            logger.error(
                "audit entry could not be stored: %s", json.dumps(asdict(item), default=str)
            )


def _bulk_create(batch: list[AuditItem]) -> None:
    AuditEntry.objects.bulk_create([AuditEntry(**asdict(item)) for item in batch])


_writers: dict[asyncio.AbstractEventLoop, _Writer] = {}


def _writer() -> _Writer:
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        for old in [known for known in _writers if known.is_closed()]:
            del _writers[old]
        writer = _writers[loop] = _Writer()
    return writer


def audit_submit(item: AuditItem) -> None:
    """Queue ``item`` for storage; returns at once."""
    _writer().submit(item)


async def audit_drain() -> None:
    """Wait until every entry submitted on this event loop is stored (or logged as lost)."""
    writer = _writers.get(asyncio.get_running_loop())
    if writer is not None:
        await writer.idle.wait()
