"""A client-side sliding-window limiter that keeps one child under GHL's burst limit."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class SlidingWindowLimiter:
    """At most ``max_requests`` starts in any ``window`` seconds, in arrival order."""

    def __init__(
        self,
        *,
        max_requests: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.max_requests = max_requests
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._held_until = 0.0
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """Let nothing start for ``seconds`` (GHL said the window is spent)."""
        self._held_until = max(self._held_until, self._clock() + seconds)

    def delay(self) -> float:
        """Seconds until the next request may start (0 when it may start now)."""
        now = self._clock()
        while self._starts and self._starts[0] <= now - self.window:
            self._starts.popleft()
        wait = self._held_until - now
        if len(self._starts) >= self.max_requests:
            wait = max(wait, self._starts[0] + self.window - now)
        return max(wait, 0.0)

    async def acquire(self) -> float:
        """Wait for a slot and take it; return the seconds waited."""
        waited = 0.0
        async with self._lock:
            while (wait := self.delay()) > 0:
                await self._sleep(wait)
                waited += wait
            self._starts.append(self._clock())
        return waited
