"""The loop every relay runs (services/common/leading.py): a round that found less than a batch is
followed by the next after the linger, so commits meanwhile go out together; a full batch goes on
at once; a commit during a round is not missed (issue 19)."""

import asyncio

from sqlalchemy.ext.asyncio import create_async_engine

from services.common.leading import LeadingLoop, Round


class Scripted(LeadingLoop):
    """Rounds answer from a script; each round records the loop's clock."""

    def __init__(
        self, script: list[Round], *, linger: float, wake_in_round: int | None = None, poll: float = 0.01
    ) -> None:
        super().__init__(
            engine=create_async_engine("sqlite+aiosqlite://"),
            channel="t",
            lock_key=1,
            poll_seconds=poll,
            idle_poll_seconds=5.0,
            linger_seconds=linger,
        )
        self.script = script
        self.times: list[float] = []
        self.wake_in_round = wake_in_round

    async def _round(self) -> Round:
        self.times.append(asyncio.get_running_loop().time())
        n = len(self.times)
        if n == self.wake_in_round:
            self.wake()  # a commit while the round runs
        if n > len(self.script):
            self._stopped.set()
            return Round.IDLE
        return self.script[n - 1]


async def test_a_partial_round_lingers_and_a_full_one_goes_on_at_once() -> None:
    loop = Scripted([Round.FULL, Round.SOME, Round.FULL], linger=0.2)
    await asyncio.wait_for(loop.run(), 5)
    gaps = [b - a for a, b in zip(loop.times, loop.times[1:], strict=False)]
    assert gaps[0] < 0.1  # after a full batch: at once
    assert gaps[1] >= 0.2  # after a partial one: the linger
    assert gaps[2] < 0.1


async def test_a_commit_during_a_round_is_not_missed() -> None:
    # The round found nothing but a commit woke the loop while it ran: the next round follows
    # without waiting for the poll (2 s here).
    loop = Scripted([Round.IDLE], linger=0, wake_in_round=1, poll=2.0)
    await asyncio.wait_for(loop.run(), 5)
    assert loop.times[1] - loop.times[0] < 1.0


def test_in_postgresql_wake_is_left_to_the_writers_notify() -> None:
    # Callers wake after every batch; in PostgreSQL the writers' pg_notify at commit wakes the
    # leader only when something was written (a round per batch found nothing: issue 19).
    loop = LeadingLoop(
        engine=create_async_engine("postgresql+asyncpg://u@127.0.0.1:1/none"),
        channel="t",
        lock_key=1,
        poll_seconds=0.01,
        idle_poll_seconds=1.0,
    )
    loop.wake()
    assert not loop._wake.is_set()
    sqlite = Scripted([], linger=0)
    sqlite.wake()
    assert sqlite._wake.is_set()
