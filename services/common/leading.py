"""The loop every relay of a table runs (the event outbox toward Kafka, the command outbox toward
Temporal): one leader per table, a round whenever a commit wakes it, polls that slow down while
nothing is found, and a pause while the far side is away.

A subclass says what one round does (`_round`, returning whether it found work) and which errors
mean the far side is down (`_outage`); everything else here is shared."""

import asyncio
from enum import IntEnum

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = structlog.get_logger(__name__)


class Round(IntEnum):
    """What a round found. `_round` may also return a bool: True is FULL, False is IDLE."""

    IDLE = 0  # nothing: wait for a commit (or the next poll)
    FULL = 1  # a full batch: the next round at once
    SOME = 2  # less than a batch: the next round after `linger_seconds`, to gather the commits meanwhile


class LeadingLoop:
    """Drains one table. In PostgreSQL the replica holding a session advisory lock (`lock_key`)
    drains it and listens on `channel` (writers `pg_notify` it at commit); the others stand by and
    take over when its connection goes. In-process writers call `wake()` after their commit."""

    what = "relay"

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        channel: str,
        lock_key: int,
        poll_seconds: float,
        idle_poll_seconds: float,
        check_seconds: float = 10.0,
        outage_pause_seconds: float = 1.0,
        linger_seconds: float = 0.0,
    ) -> None:
        self._engine = engine
        self._channel = channel
        self._lock_key = lock_key
        self._poll = poll_seconds
        self._idle_poll = max(idle_poll_seconds, poll_seconds)
        self._check_every = check_seconds
        self._outage_pause = outage_pause_seconds
        self._linger = linger_seconds
        self._lock_conn: AsyncConnection | None = None
        self._lock_checked = 0.0
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()

    def wake(self) -> None:
        """Called after a commit that wrote to the table, so latency does not wait for a poll. In
        PostgreSQL it does nothing: the writer's pg_notify at commit (notify_at_commit) wakes the
        leader in whichever replica it runs, and only when something was written, whereas the
        callers wake after every batch: a round for each (a relay's select, a command relay's three
        statements) that found nothing, the busiest statements of a paced run (issue 19)."""
        if self._engine.dialect.name != "postgresql":
            self._wake.set()

    async def _round(self) -> bool | Round:
        """One round of work: what it found (Round; True: a full batch, the next round at once)."""
        raise NotImplementedError

    def _outage(self, exc: BaseException) -> bool:
        """Whether `exc` means the far side is away (pause and go on) rather than a bug (raise)."""
        return False

    async def _after_outage(self) -> None:
        """Forget connections to the far side after an outage."""

    async def run(self) -> None:
        # Polls get slower while nothing is found (up to idle_poll_seconds), back to poll_seconds as
        # soon as something is: a stack of idle services must not keep the machine busy. Commits wake
        # the loop at once anyway — in PostgreSQL by the writers' NOTIFY (in whichever replica), in
        # SQLite (one process) by wake().
        #
        # A round that found less than a batch is followed by the next one only after
        # `linger_seconds` (issue 19): under a trickle every commit used to wake a round of its own
        # (a select, a send, the cursor's transaction, then a select that found nothing), so the
        # relays did as many rounds as the writers did commits, and on a small machine the stack's
        # CPU did not depend on the rate at all (bench/README.md "Issue 19: batches a trickle
        # makes"). The wake is cleared before the round, so a commit during it is not missed.
        wait = self._poll
        while not self._stopped.is_set():
            if not await self._lead():
                await asyncio.sleep(2.0)
                continue
            try:
                self._wake.clear()
                found = await self._round()
                if found == Round.SOME and self._linger > 0:
                    wait = self._poll
                    await asyncio.sleep(self._linger)
                    continue
                if found:
                    wait = self._poll
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                    wait = self._poll
                except TimeoutError:
                    wait = min(wait * 2, self._idle_poll)
            except Exception as exc:
                if not self._outage(exc):
                    raise
                log.warning(f"{self.what}: far side unavailable, retrying", error=repr(exc)[:300])
                await self._after_outage()
                await asyncio.sleep(self._outage_pause)

    async def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        await self._after_outage()
        await self._resign()

    def _took_lead(self) -> None:
        """Called when this replica becomes the leader (state shared with the last one may have moved)."""

    async def _lead(self) -> bool:
        if self._engine.dialect.name != "postgresql":
            return True
        try:
            if self._lock_conn is not None:
                now = asyncio.get_running_loop().time()
                if now - self._lock_checked > self._check_every:
                    await self._lock_conn.execute(text("SELECT 1"))
                    # Out of the transaction again: notifications reach a session only between them.
                    await self._lock_conn.commit()
                    self._lock_checked = now
                return True
            conn = await self._engine.connect()
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._lock_key})
            await conn.commit()
            if got:
                raw = await conn.get_raw_connection()
                assert raw.driver_connection is not None
                await raw.driver_connection.add_listener(self._channel, self._notified)
                self._lock_conn = conn
                self._took_lead()
                log.info(f"{self.what}: leading", table=self._channel)
                return True
            await conn.close()
            return False
        except Exception as exc:  # noqa: BLE001 - losing the lock connection means standing by
            log.warning(f"{self.what}: lost or could not take the lead", error=repr(exc))
            await self._resign()
            return False

    def _notified(self, *_args: object) -> None:
        self._wake.set()

    async def _resign(self) -> None:
        if self._lock_conn is not None:
            try:
                await self._lock_conn.close()
            except Exception:  # noqa: BLE001 - the connection may already be gone
                log.debug(f"{self.what}: closing the lock connection failed", exc_info=True)
            self._lock_conn = None
