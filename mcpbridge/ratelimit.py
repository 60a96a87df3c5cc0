"""Tool calls per tenant: one budget for every worker, socket and token of a tenant.

Counted with django-ratelimit's ``get_usage`` in the default cache (Redis in
production, so workers share the count). Windows are fixed, as django-ratelimit's
are: a window's count stays until the second after its last one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django_ratelimit.core import get_usage

from mcpbridge.supervisor import metrics

logger = logging.getLogger(__name__)

GROUP = "mcpbridge.tool_calls"


@dataclass(frozen=True)
class RateUsage:
    limit: int
    remaining: int
    reset: int
    limited: bool

    def headers(self) -> dict[str, str]:
        """IETF ``RateLimit-*`` header fields and their common ``X-RateLimit-*`` aliases."""
        values = {"Limit": self.limit, "Remaining": self.remaining, "Reset": self.reset}
        headers = {f"RateLimit-{name}": str(value) for name, value in values.items()}
        headers.update({f"X-RateLimit-{name}": str(value) for name, value in values.items()})
        return headers


def _usage(tenant_id: int, *, increment: bool) -> RateUsage | None:
    def key(group: str, request: Any) -> str:
        return f"tenant:{tenant_id}"

    try:
        usage = get_usage(
            None, group=GROUP, key=key, rate=settings.TENANT_RATE_LIMIT, increment=increment
        )
    except Exception as exc:  # the cache is down: serve calls rather than refuse them all
        logger.warning("tool call rate limit not applied: the cache failed: %s", type(exc).__name__)
        return None
    if usage is None:
        return None
    count, limit = int(usage["count"]), int(usage["limit"])
    return RateUsage(
        limit=limit,
        remaining=max(limit - count, 0),
        # The window's count is used until the second after ``time_left`` runs out.
        reset=max(int(usage["time_left"]), 0) + 1,
        limited=bool(usage["should_limit"]),
    )


async def tenant_rate_hit(*, tenant_id: int) -> RateUsage | None:
    """Count one tool call of the tenant; ``limited`` says it is over its budget."""
    usage = await sync_to_async(_usage, thread_sensitive=False)(tenant_id, increment=True)
    if usage is not None and usage.limited:
        metrics.RATE_LIMIT_REFUSALS.inc()
    return usage


async def tenant_rate_peek(*, tenant_id: int) -> RateUsage | None:
    """The tenant's budget as it stands, without counting anything."""
    return await sync_to_async(_usage, thread_sensitive=False)(tenant_id, increment=False)
