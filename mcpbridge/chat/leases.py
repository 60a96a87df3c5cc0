"""One running turn per conversation, on every worker: a lease in the shared cache.

A turn takes its conversation's lease with an atomic ``cache.add`` before it stores
anything, keeps it alive while it runs, and gives it back when it ends, however it
ends. The default cache is Redis in production, so every daphne worker sees the same
leases (local memory on the embedded defaults, which run one process). A lease lasts
``seconds`` between renewals, so one left behind by a worker that died frees its
conversation soon after. If the cache fails, the turn runs without a lease and a
warning is logged, as the rate limiter does: a cache outage should not stop the chat.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.core.cache import cache

from config.errors import HubError

logger = logging.getLogger(__name__)


class ConversationBusyError(HubError):
    code = "conversation_busy"
    default_message = (
        "A reply is already being written for this conversation in another window. "
        "Send your message again once it is finished."
    )


@dataclass(frozen=True)
class ConversationLease:
    conversation_id: int
    token: str
    seconds: int
    # False when the cache failed: the turn runs, unguarded.
    held: bool = True

    @property
    def key(self) -> str:
        return f"mcpbridge.chat_turn:{self.conversation_id}"


def _cache_failed(action: str, conversation_id: int, exc: Exception) -> None:
    logger.warning(
        "conversation %s: turn lease not %s: the cache failed: %s",
        conversation_id,
        action,
        type(exc).__name__,
    )


def conversation_lease_take(*, conversation_id: int, seconds: int) -> ConversationLease:
    """The conversation's lease for ``seconds``; ``ConversationBusyError`` while a turn holds it."""
    lease = ConversationLease(conversation_id, secrets.token_hex(16), seconds)
    try:
        taken = cache.add(lease.key, lease.token, seconds)
    except Exception as exc:  # the cache is down: answer rather than refuse every turn
        _cache_failed("taken", conversation_id, exc)
        return dataclasses.replace(lease, held=False)
    if not taken:
        raise ConversationBusyError()
    return lease


def conversation_lease_renew(*, lease: ConversationLease) -> None:
    """Give ``lease`` its full time again (take it back if the cache lost it meanwhile)."""
    if not lease.held:
        return
    try:
        holder = cache.get(lease.key)
        if holder == lease.token:
            cache.touch(lease.key, lease.seconds)
            return
        if holder is None and cache.add(lease.key, lease.token, lease.seconds):
            return
    except Exception as exc:
        _cache_failed("renewed", lease.conversation_id, exc)
        return
    logger.warning("conversation %s: another turn took this turn's lease", lease.conversation_id)


def conversation_lease_release(*, lease: ConversationLease) -> None:
    if not lease.held:
        return
    try:
        # Only our own: a lease that lapsed may have been taken by another turn since.
        if cache.get(lease.key) == lease.token:
            cache.delete(lease.key)
    except Exception as exc:
        _cache_failed("released", lease.conversation_id, exc)


class KeptLease:
    """A lease held while a turn runs: renewed every third of its time until given back."""

    def __init__(self, lease: ConversationLease) -> None:
        self.lease = lease
        self._stop = asyncio.Event()
        self._keeper = asyncio.create_task(self._keep())
        self._giving_back: asyncio.Future[None] | None = None

    async def give_back(self) -> None:
        """Release the lease (once, however often it is called)."""
        if self._giving_back is None:
            self._giving_back = asyncio.ensure_future(self._give_back())
        # Shielded: a stop arriving meanwhile must not leave the lease behind.
        await asyncio.shield(self._giving_back)

    async def _keep(self) -> None:
        renew = sync_to_async(conversation_lease_renew, thread_sensitive=False)
        while self.lease.held:
            try:
                await asyncio.wait_for(self._stop.wait(), self.lease.seconds / 3)
                return
            except TimeoutError:
                await renew(lease=self.lease)

    async def _give_back(self) -> None:
        self._stop.set()
        # A renewal under way finishes first, so it cannot bring the lease back after this.
        await self._keeper
        await sync_to_async(conversation_lease_release, thread_sensitive=False)(lease=self.lease)


@asynccontextmanager
async def conversation_lease_kept(lease: ConversationLease) -> AsyncIterator[KeptLease]:
    """Hold ``lease`` for the block, which may give it back early; at the latest, its end
    does, however it ends."""
    kept = KeptLease(lease)
    try:
        yield kept
    finally:
        await kept.give_back()
