"""The supplier checks the watch owes at an award or a contract (table watch_dispatch, kind
`check`, written by the consumer with the fact): each supplier is asked of the public credit status
(`GET /v1/credit/supplier/{id}`, CONTRACT §2) — an HTTP call kept out of the consumer's transaction
— and one that may not take part raises `interception.raised.v1` and an InterceptionWorkflow start
(a row of the command outbox, commands.py), in one transaction. Each supplier of a round is asked
once, on one connection, a few at a time: a backlog of awards for the same supplier must not become
as many credit queries. A check whose answer could not be read stays for the next round.

Nothing here talks to Temporal: the clock starts, stops and re-plans, and the interceptions, are
delivered by the command relay."""

import asyncio
from collections.abc import Callable
from datetime import datetime

import httpx
import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.commands import write_commands
from services.common.messaging import write_outbox
from services.common.sql import key_in
from services.watch.commands import command_of
from services.watch.models import COMMANDS, DISPATCH, MESSAGING
from services.watch.timeline import interception_event, interception_input
from workflows.deadline_clock.inputs import InterceptionInput

log = structlog.get_logger(__name__)
CHECK_CONCURRENCY = 4
BATCH = 500


class SupplierChecks:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        credit_url: str,
        on_change: Callable[[], None] = lambda: None,
        poll_seconds: float = 1.0,
        idle_poll_seconds: float = 8.0,
    ):
        self._engine = engine
        self._credit_url = credit_url.rstrip("/")
        self._on_change = on_change  # wakes the outbox and command relays after an interception
        self._poll = poll_seconds
        self._idle_poll = max(idle_poll_seconds, poll_seconds)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        # Checks left unanswered (the credit API away) are asked again every poll. With none
        # pending the polls slow down to idle_poll_seconds (issue 19: idle CPU): the consumer that
        # writes a check wakes this loop after its commit, so the poll is only a safety net.
        wait = self._poll
        while True:
            self._wake.clear()
            pending, done = await self.check_once()
            if done == 0 or done < pending:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
                    wait = self._poll
                except TimeoutError:
                    wait = min(wait * 2, self._idle_poll) if pending == 0 else self._poll

    async def check_once(self) -> tuple[int, int]:
        """One round: (checks found, checks answered). The round's rows stay locked until deleted,
        so two replicas never ask for the same check."""
        async with self._engine.begin() as conn:
            q = select(DISPATCH).order_by(DISPATCH.c.seq).limit(BATCH).with_for_update(skip_locked=True)
            rows = [dict(r._mapping) for r in await conn.execute(q)]
            if not rows:
                return 0, 0
            statuses = await self._credit_statuses(sorted({r["payload"]["subject"]["id"] for r in rows}))
            done, barred = [], []
            for row in rows:
                status = statuses.get(row["payload"]["subject"]["id"])
                if status is None:
                    continue  # not read this round: asked again next round
                done.append(row["seq"])
                if not status.get("may_participate", True):
                    barred.append((row, status))
            inputs = [self._interception(row, status) for row, status in barred]
            await write_outbox(conn, MESSAGING.outbox, [interception_event(i) for i in inputs])
            await write_commands(
                conn,
                COMMANDS,
                [command_of(i.interception_id, "intercept", i.model_dump(mode="json")) for i in inputs],
            )
            if done:
                await conn.execute(delete(DISPATCH).where(key_in(conn, DISPATCH.c.seq, done)))
        if inputs:
            log.info("suppliers intercepted", count=len(inputs))
            self._on_change()
        return len(rows), len(done)

    @staticmethod
    def _interception(row: dict, status: dict) -> InterceptionInput:
        p = row["payload"]
        until = status.get("blacklisted_until") or status.get("excluded_until")
        detail = f"{p['stage']}: the supplier may not take part" + (f" (until {until})" if until else "")
        return interception_input(
            row["clock_id"], p["region"], p["project"], "supplier_barred", p["subject"], detail,
            "GET /v1/credit: may_participate false", datetime.fromisoformat(p["at"]),
        )  # fmt: skip

    async def _credit_statuses(self, suppliers: list[str]) -> dict[str, dict]:
        """The public credit status of each supplier; one that could not be read is left out (its
        checks wait for the next round)."""
        slots = asyncio.Semaphore(CHECK_CONCURRENCY)
        out: dict[str, dict] = {}
        async with httpx.AsyncClient(base_url=self._credit_url, timeout=10, trust_env=False) as http:

            async def one(supplier: str) -> None:
                async with slots:
                    try:
                        r = await http.get(f"/v1/credit/supplier/{supplier}")
                        r.raise_for_status()
                        out[supplier] = r.json()
                    except (httpx.HTTPError, ValueError) as exc:
                        log.warning("credit status not read", supplier=supplier, error=repr(exc)[:200])

            await asyncio.gather(*(one(s) for s in suppliers))
        return out
