from __future__ import annotations

import asyncio
import math

from mcpbridge.ghl.ratelimit import SlidingWindowLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def start(limiter: SlidingWindowLimiter) -> float:
    """A request answered at once: take a place and give it back."""
    waited = await limiter.acquire()
    limiter.release()
    return waited


async def test_it_lets_a_burst_through_then_waits_for_the_window() -> None:
    fake = FakeTime()
    limiter = SlidingWindowLimiter(max_requests=3, window=10.0, clock=fake.clock, sleep=fake.sleep)
    waits = [await start(limiter) for _ in range(3)]
    fake.now += 4
    fourth = await start(limiter)
    assert waits == [0.0, 0.0, 0.0]
    assert fourth == 6.0
    assert fake.now == 110.0


async def test_no_window_ever_holds_more_than_the_limit() -> None:
    fake = FakeTime()
    limiter = SlidingWindowLimiter(max_requests=5, window=1.0, clock=fake.clock, sleep=fake.sleep)
    starts = []
    for step in range(40):
        fake.now += 0.07 * (step % 3)
        await start(limiter)
        starts.append(fake.now)
    assert all(starts[i + 5] - starts[i] >= 1.0 for i in range(len(starts) - 5))


async def test_a_hold_from_ghl_delays_the_next_start() -> None:
    fake = FakeTime()
    limiter = SlidingWindowLimiter(
        max_requests=100, window=10.0, clock=fake.clock, sleep=fake.sleep
    )
    limiter.hold(2.5)
    assert await start(limiter) == 2.5


async def test_requests_in_flight_hold_their_place_until_answered() -> None:
    fake = FakeTime()
    limiter = SlidingWindowLimiter(max_requests=2, window=10.0, clock=fake.clock, sleep=fake.sleep)
    await limiter.acquire()
    await limiter.acquire()
    third = asyncio.create_task(limiter.acquire())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not third.done()
    assert limiter.delay() == math.inf
    fake.now += 3
    limiter.release()
    await third
    # The answered request kept its place for a window after its answer.
    assert fake.now == 113.0
