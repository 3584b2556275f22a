"""Sending the Temporal commands the watch owes (table watch_dispatch): a clock's start and its stop.

Written in the transaction that decided them, so none is lost while Temporal is down, and the Kafka
consumer never waits for Temporal (DESIGN: keep Temporal off the per-event path). A clock's commands
go in order (start before stop), clocks in parallel, `CONCURRENCY` calls at a time. Both are
idempotent in Temporal (USE_EXISTING start under the clock's id; a stop to a clock that is over is
nothing), so a command sent twice changes nothing."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from itertools import groupby

import httpx
import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common.messaging import write_outbox
from services.common.pacing import Pacer
from services.common.sql import insert_rows, key_in
from services.common.temporal import WORKFLOW_QUEUE
from services.watch.models import DISPATCH, MESSAGING
from services.watch.timeline import interception_event, interception_input
from workflows.deadline_clock.inputs import (
    ClockInput,
    ClockStop,
    InterceptionInput,
    clock_workflow_id,
    interception_workflow_id,
)
from workflows.deadline_clock.workflow import DeadlineClockWorkflow
from workflows.interception.workflow import InterceptionWorkflow

log = structlog.get_logger(__name__)
CONCURRENCY = 16
CHECK_CONCURRENCY = 4
BATCH = 500


class ClockDispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        client: Callable[[], Awaitable[Client]],
        *,
        credit_url: str,
        on_change: Callable[[], None] = lambda: None,
        poll_seconds: float = 1.0,
        rate: float = 0,
    ):
        self._pacer = Pacer(rate)  # Temporal calls a second at most (0: no limit)
        self._engine = engine
        self._credit_url = credit_url.rstrip("/")
        self._on_change = on_change  # wakes the outbox relay after an interception was written
        self._client = client
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._statuses: dict[str, dict] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            pending, sent = await self.dispatch_once()
            if sent == 0 or sent < pending:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
                except TimeoutError:
                    pass

    async def dispatch_once(self) -> tuple[int, int]:
        # The round's rows stay locked until they are deleted: the consumer takes back a start not
        # sent yet (timeline._unsent_dropped) and must wait for one being sent, then send its stop.
        async with self._engine.begin() as conn:
            q = select(DISPATCH).order_by(DISPATCH.c.seq).limit(BATCH).with_for_update(skip_locked=True)
            rows = [dict(r._mapping) for r in await conn.execute(q)]
            if not rows:
                return 0, 0
            done = await self._send_round(rows)
            if done:
                await conn.execute(delete(DISPATCH).where(key_in(conn, DISPATCH.c.seq, done)))
        return len(rows), len(done)

    async def _send_round(self, rows: list[dict]) -> list[int]:
        client = await self._client()
        # Each supplier of the round's checks is asked once, on one connection, a few at a time:
        # a backlog of awards for the same supplier must not become as many credit queries.
        suppliers = sorted({r["payload"]["subject"]["id"] for r in rows if r["kind"] == "check"})
        self._statuses = await self._credit_statuses(suppliers) if suppliers else {}
        ordered = sorted(rows, key=lambda r: (r["clock_id"], r["seq"]))
        groups = [list(g) for _, g in groupby(ordered, key=lambda r: r["clock_id"])]
        return [seq for seqs in await asyncio.gather(*(self._send(client, g) for g in groups)) for seq in seqs]

    async def _send(self, client: Client, commands: list[dict]) -> list[int]:
        if [c["kind"] for c in commands[:1]] == ["start"] and any(c["kind"] == "stop" for c in commands):
            # Started and completed before Temporal heard of it (a backlog, or both facts in one
            # batch): nothing left to wait for, as when the completing fact came first (timeline.py
            # never starts a workflow then either). The clock row already says done and late or not.
            return [c["seq"] for c in commands]
        done = []
        async with self._slots:
            for command in commands:
                if command["kind"] in ("start", "stop", "intercept"):
                    await self._pacer.wait()
                try:
                    await self._one(client, command)
                except Exception as exc:  # noqa: BLE001 - Temporal unavailable: kept for the next round
                    log.warning("clock command failed", clock_id=command["clock_id"], error=repr(exc)[:300])
                    break
                done.append(command["seq"])
        return done

    async def _one(self, client: Client, command: dict) -> None:
        if command["kind"] == "check":
            await self._check(command)
            return
        if command["kind"] == "intercept":
            try:
                await client.start_workflow(
                    InterceptionWorkflow.run,
                    InterceptionInput.model_validate(command["payload"]),
                    id=interception_workflow_id(command["clock_id"]),
                    task_queue=WORKFLOW_QUEUE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                pass  # intercepted before for the same project, rule and subject
            return
        workflow_id = clock_workflow_id(command["clock_id"])
        if command["kind"] == "start":
            try:
                await client.start_workflow(
                    DeadlineClockWorkflow.run,
                    ClockInput.model_validate(command["payload"]),
                    id=workflow_id,
                    task_queue=WORKFLOW_QUEUE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            except WorkflowAlreadyStartedError:
                pass  # that clock ran already: a clock is never started twice
            return
        try:
            stop = ClockStop.model_validate(command["payload"])
            await client.get_workflow_handle(workflow_id).signal(DeadlineClockWorkflow.stop, stop)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise

    async def _check(self, command: dict) -> None:
        """Ask the public credit status (`/v1/credit`, CONTRACT §2) whether the supplier may take part;
        if not, publish `interception.raised.v1` and order the interception (one transaction). An
        answer other than 200 raises: the check is kept and asked again next round."""
        p = command["payload"]
        subject = p["subject"]
        status = self._statuses.get(subject["id"])
        if status is None:
            raise LookupError(f"no credit status for {subject['id']} this round")
        if status.get("may_participate", True):
            return
        until = status.get("blacklisted_until") or status.get("excluded_until")
        detail = f"{p['stage']}: the supplier may not take part" + (f" (until {until})" if until else "")
        inp = interception_input(
            command["clock_id"], p["region"], p["project"], "supplier_barred", subject, detail,
            "GET /v1/credit: may_participate false", datetime.fromisoformat(p["at"]),
        )  # fmt: skip
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            await write_outbox(conn, MESSAGING.outbox, [interception_event(inp)])
            await insert_rows(
                conn,
                DISPATCH,
                [{"clock_id": inp.interception_id, "kind": "intercept", "payload": inp.model_dump(mode="json"),
                  "created_at": now}],
            )  # fmt: skip
        self._on_change()
        self.wake()

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
