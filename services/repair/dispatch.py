"""Sending the Temporal commands the repair service owes (table repair_dispatch): workflow starts
for new repairable records, `record_changed` and `apply` signals.

The commands are written in the transaction that decided them, so none is lost when Temporal is
down, and the Kafka consumer and HTTP never wait for Temporal: bulk intake (2,000+ records/s) only
writes rows, and the dispatcher drains them at the rate Temporal takes (the dev server starts
~170 workflows/s here, DESIGN), `CONCURRENCY` calls at a time and at most `rate` a second, so a
burst of intake never takes the Temporal server (and with it the machine) away from the read path.
A record's commands go in order (its start before its signals); different records in parallel.
Every command is idempotent in Temporal (USE_EXISTING start, version-checked signals), so a command
sent twice — a crash after the call, before the delete — changes nothing.

A workflow is started with a start delay until its window opens: Temporal keeps the execution but
runs no workflow task for six months, half the server's work per start of one that sleeps (measured
here: 3.2 against 6.2 CPU-seconds per 1,000 starts). A record change is sent as signal-with-start,
which ends the delay, so a withdrawn or corrected record's repair hears of it at once; an
application only comes once the window is open, when the delay is over."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from itertools import groupby

import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common.pacing import Pacer
from services.common.policy import policy_for
from services.common.sql import key_in
from services.common.temporal import WORKFLOW_QUEUE
from services.repair.changes import change_application
from services.repair.models import DISPATCH
from services.repair.rules import terms_from, window_for
from workflows.repair import RecordRepairWorkflow
from workflows.repair_inputs import ApplicationChanged, RecordChange, RepairInput, repair_workflow_id

log = structlog.get_logger(__name__)
CONCURRENCY = 32
BATCH = 1000


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        client: Callable[[], Awaitable[Client]],
        *,
        on_change: Callable[[], None] = lambda: None,
        poll_seconds: float = 1.0,
        rate: float = 0,
    ) -> None:
        self._engine = engine
        self._client = client
        self._on_change = on_change  # wakes the outbox relay after an application was changed here
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._pacer = Pacer(rate)  # 0: no limit

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            pending, sent = await self.dispatch_once()
            if sent == 0 or sent < pending:
                # Idle, or Temporal refused some: wait for new commands or the next poll.
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
                except TimeoutError:
                    pass

    async def dispatch_once(self) -> tuple[int, int]:
        """Send what is pending (up to BATCH); returns (pending, sent)."""
        async with self._engine.connect() as conn:
            q = select(DISPATCH).order_by(DISPATCH.c.seq).limit(BATCH)
            rows = [dict(r._mapping) for r in await conn.execute(q)]
        if not rows:
            return 0, 0
        client = await self._client()
        by_record = sorted(rows, key=lambda r: (r["record_id"], r["seq"]))
        groups = [list(g) for _, g in groupby(by_record, key=lambda r: r["record_id"])]
        results = await asyncio.gather(*(self._send_group(client, g) for g in groups))
        done = [seq for seqs in results for seq in seqs]
        if done:
            async with self._engine.begin() as conn:
                await conn.execute(delete(DISPATCH).where(key_in(conn, DISPATCH.c.seq, done)))
        return len(rows), len(done)

    async def _send_group(self, client: Client, commands: list[dict]) -> list[int]:
        """Send one record's commands in order; stop at the first that fails (kept for later)."""
        done = []
        async with self._slots:
            for command in commands:
                await self._pacer.wait()
                try:
                    await self._send(client, command)
                except Exception as exc:  # noqa: BLE001 - Temporal unavailable: retried next round
                    log.warning("temporal command failed", record_id=command["record_id"], error=repr(exc)[:300])
                    break
                done.append(command["seq"])
        return done

    async def _send(self, client: Client, command: dict) -> None:
        workflow_id = repair_workflow_id(command["record_id"])
        if command["kind"] in ("start", "record_changed"):
            await self._start(client, workflow_id, command)
            return
        try:
            await client.get_workflow_handle(workflow_id).signal(command["kind"], command["payload"])
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            # The repair is over (or never was): a record change has nothing to reach; an
            # application has no one to decide it, so it ends here with the reason.
            if command["kind"] == "apply":
                await self._close_application(command)

    async def _start(self, client: Client, workflow_id: str, command: dict) -> None:
        """A start (delayed until the window opens), or a record change as signal-with-start."""
        options: dict = {}
        if command["kind"] == "start":
            inp = RepairInput.model_validate(command["payload"])
            window = window_for(inp.record.severity, inp.record.recorded_on, inp.record.valid_until, inp.terms)
            if window.opens_at is not None and window.opens_at > datetime.now(UTC):
                options["start_delay"] = window.opens_at - datetime.now(UTC)
        else:
            change = RecordChange.model_validate(command["payload"])
            # The start arguments only matter if no repair exists; one that is over is never restarted.
            inp = RepairInput(
                record=change.record, terms=terms_from(policy_for(change.record.region, change.record.recorded_on))
            )
            options.update(start_signal="record_changed", start_signal_args=[change])
        try:
            await client.start_workflow(
                RecordRepairWorkflow.run,
                inp,
                id=workflow_id,
                task_queue=WORKFLOW_QUEUE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                # A repair that is over is never started again for the same record.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                **options,
            )
        except WorkflowAlreadyStartedError:
            pass  # over already: a record change has nothing left to reach

    async def _close_application(self, command: dict) -> None:
        change = ApplicationChanged(
            application_id=command["payload"]["application_id"],
            record_id=command["record_id"],
            state="refused",
            code="repair_closed",
            reason="repair of this record is closed",
            at=datetime.now(UTC),
        )
        async with self._engine.begin() as conn:
            await change_application(conn, change)
        self._on_change()
