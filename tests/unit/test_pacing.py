"""services/common/pacing.Pacer: calls spread evenly at most `rate` a second; 0 is no limit."""

import asyncio

from services.common.pacing import Pacer


async def test_calls_are_spread_at_the_rate() -> None:
    pacer = Pacer(20)  # a slot every 50 ms
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(5):
        await pacer.wait()
    # Slots at 0, 50, 100, 150, 200 ms: the fifth cannot come before 200 ms.
    assert loop.time() - started >= 0.2


async def test_no_rate_is_no_wait() -> None:
    pacer = Pacer(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(1000):
        await pacer.wait()
    assert loop.time() - started < 0.5
