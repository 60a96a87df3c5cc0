"""A client-side sliding-window limiter that keeps one child under GHL's burst limit."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable


class SlidingWindowLimiter:
    """At most ``max_requests`` requests in any ``window`` seconds, as GHL counts them.

    GHL counts a request when it arrives, which is some time between our sending it and
    its answer coming back. So a request takes its place in the window when it is sent
    and keeps it while in flight, and its place expires a window after its answer: every
    window GHL can see is then one the limiter saw too, however long requests take (the
    pool, GHL's own queue). Requests start in arrival order.
    """

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
        self._answered: deque[float] = deque()
        self._in_flight = 0
        self._held_until = 0.0
        self._lock = asyncio.Lock()
        self._released = asyncio.Event()

    def hold(self, seconds: float) -> None:
        """Let nothing start for ``seconds`` (GHL said the window is spent)."""
        self._held_until = max(self._held_until, self._clock() + seconds)

    def delay(self) -> float:
        """Seconds until the next request may start (0 now; inf until one in flight ends)."""
        now = self._clock()
        while self._answered and self._answered[0] <= now - self.window:
            self._answered.popleft()
        wait = self._held_until - now
        excess = len(self._answered) + self._in_flight - self.max_requests + 1
        if excess > len(self._answered):
            return math.inf
        if excess > 0:
            wait = max(wait, self._answered[excess - 1] + self.window - now)
        return max(wait, 0.0)

    async def acquire(self) -> float:
        """Wait for a place and take it (call ``release`` when answered); return the wait."""
        started = self._clock()
        async with self._lock:
            while (wait := self.delay()) > 0:
                await self._wait(wait)
            self._in_flight += 1
        return self._clock() - started

    async def _wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a request in flight is answered (frees a place)."""
        if not self._in_flight:
            await self._sleep(seconds)
            return
        self._released.clear()
        waits: set[asyncio.Future[object]] = {asyncio.ensure_future(self._released.wait())}
        if not math.isinf(seconds):
            waits.add(asyncio.ensure_future(self._sleep(seconds)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    def release(self) -> None:
        """The request's answer came back: its place expires a window from now."""
        self._in_flight -= 1
        self._answered.append(self._clock())
        self._released.set()

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()
