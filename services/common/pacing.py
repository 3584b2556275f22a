"""Spreading calls evenly over time: at most `rate` a second, one slot after the other (not in
bursts), so a backlog of commands never takes the Temporal server, and the machine, away from the
read path. A rate of 0 means no limit."""

import asyncio


class Pacer:
    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next_slot = 0.0

    async def wait(self) -> None:
        """Wait for the next free slot."""
        if not self._interval:
            return
        loop = asyncio.get_running_loop()
        slot = max(self._next_slot, loop.time())
        self._next_slot = slot + self._interval
        await asyncio.sleep(slot - loop.time())
