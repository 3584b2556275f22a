"""The one relay of the command outbox (services.common.commands): delivers what a service wrote to
`{service}_command` to Temporal, as the outbox relay delivers events to Kafka (same LeadingLoop:
one leader per table, woken at commit, polling slower while idle).

- Order: the commands of one workflow id go in the order written (its start before its signals);
  different workflows in parallel, `concurrency` calls at a time and at most `rate` a second (a
  burst of intake must not take the Temporal server, and the machine, from the read path).
- Idempotent: a start uses the business workflow id with USE_EXISTING and REJECT_DUPLICATE, so a
  start repeated after a crash finds the running one and one that is over is never started again
  (WorkflowAlreadyStarted is success).
- Retries: while Temporal is unreachable nothing is counted — the round stops and the loop waits
  (the commands are still there when it is back). Any other failure counts an attempt and waits
  `backoff`, 2x `backoff`, … before the next; after `max_attempts` the command is `failed` with
  the error as its reason and later commands of the workflow go on.
- Deferred starts (`commands.defer_commands`) whose time has come are made pending first.
- A signal or update whose workflow is not found (over, or never was) is handed to the purpose's
  `gone` hook, or fails with reason `workflow_not_found`.
Delivered commands are removed (with the purpose's `delivered` hook, in one transaction)."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

import structlog
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from services.common.commands import FAILED, PENDING, Command, CommandOutbox, in_state, promote_due
from services.common.leading import LeadingLoop
from services.common.messaging import writer_lock_key
from services.common.metrics import COMMANDS_DELIVERED, COMMANDS_FAILED, COMMANDS_RETRIED
from services.common.pacing import Pacer
from services.common.sql import key_in
from services.common.temporal import WORKFLOW_QUEUE, temporal_unavailable

log = structlog.get_logger(__name__)

DELIVERED, GONE, RETRY, DEAD, AWAY = "delivered", "gone", "retry", "failed", "away"


class CommandRelay(LeadingLoop):
    what = "command relay"

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        outbox: CommandOutbox,
        client: Callable[[], Awaitable[Client]],
        service: str,
        on_change: Callable[[], None] = lambda: None,
        batch: int = 1000,
        concurrency: int = 32,
        rate: float = 0,
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        poll_seconds: float = 0.05,
        idle_poll_seconds: float = 2.0,
    ) -> None:
        super().__init__(
            engine=engine,
            channel=outbox.table.name,
            lock_key=writer_lock_key(outbox.table) ^ 0xC0DE,
            poll_seconds=poll_seconds,
            idle_poll_seconds=idle_poll_seconds,
        )
        self._outbox = outbox
        self._table = outbox.table
        self._client = client
        self._service = service
        self._on_change = on_change  # e.g. wakes the event outbox relay after a hook wrote events
        self._batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self._pacer = Pacer(rate)  # 0: no limit
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds

    def _outage(self, exc: BaseException) -> bool:
        return temporal_unavailable(exc)

    async def _round(self) -> bool:
        pending, done = await self.deliver_once()
        # A full batch delivered: more may be waiting. Anything left behind (Temporal away, a retry
        # not due yet): wait for a commit or the next poll.
        return done > 0 and done == pending == self._batch

    async def deliver_once(self, workflow_ids: Iterable[str] | None = None) -> tuple[int, int]:
        """Deliver what is due (up to the batch; only these workflows' when given); returns
        (commands found, commands settled: delivered, gone or failed for good)."""
        t = self._table
        now = datetime.now(UTC)
        if self._outbox.deferred:
            async with self._engine.begin() as conn:
                await promote_due(conn, t, now)
        q = (
            select(t)
            .where(in_state(t, PENDING), or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now))
            .order_by(t.c.seq)
            .limit(self._batch)
        )
        async with self._engine.connect() as conn:
            if workflow_ids is not None:
                q = q.where(key_in(conn, t.c.workflow_id, list(workflow_ids)))
            commands = [Command.of_row(r) for r in await conn.execute(q)]
            # A command waiting for its next attempt holds back the later ones of its workflow.
            waiting = select(t.c.workflow_id, func.min(t.c.seq)).where(in_state(t, PENDING), t.c.next_attempt_at > now)
            held = dict((await conn.execute(waiting.group_by(t.c.workflow_id))).all())
        commands = [c for c in commands if c.seq < held.get(c.workflow_id, c.seq + 1)]
        if not commands:
            return 0, 0
        client = await self._client()
        by_workflow = sorted(commands, key=lambda c: (c.workflow_id, c.seq))
        groups = [list(g) for _, g in groupby(by_workflow, key=lambda c: c.workflow_id)]
        results = await asyncio.gather(*(self._send_group(client, g) for g in groups))
        outcomes = [o for group in results for o in group]
        await self._settle(outcomes)
        settled = sum(1 for _, outcome, _ in outcomes if outcome in (DELIVERED, GONE, DEAD))
        if any(outcome == AWAY for _, outcome, _ in outcomes) and settled == 0:
            raise next(error for _, outcome, error in outcomes if outcome == AWAY)
        return len(commands), settled

    async def _send_group(self, client: Client, commands: list[Command]) -> list[tuple[Command, str, Any]]:
        """One workflow's commands in order; the first that is not settled holds back the rest."""
        outcomes: list[tuple[Command, str, Any]] = []
        async with self._slots:
            for command in commands:
                await self._pacer.wait()
                try:
                    outcome = await self._send(client, command)
                    outcomes.append((command, outcome, None))
                except Exception as exc:  # noqa: BLE001 - kept and retried; see below
                    if temporal_unavailable(exc):
                        outcomes.append((command, AWAY, exc))
                    else:
                        log.warning(
                            "temporal command failed",
                            purpose=command.purpose,
                            workflow_id=command.workflow_id,
                            error=repr(exc)[:300],
                        )
                        dead = command.attempts + 1 >= self._max_attempts
                        outcomes.append((command, DEAD if dead else RETRY, exc))
                        if dead:
                            continue  # given up: the workflow's later commands go on
                    break
        return outcomes

    async def _send(self, client: Client, command: Command) -> str:
        prepare = self._outbox.route(command.purpose).prepare
        if prepare is not None:
            command = await prepare(self._engine, command)
        if command.action == "start":
            options: dict[str, Any] = {}
            if command.not_before is not None:
                at = command.not_before
                delay = (at if at.tzinfo else at.replace(tzinfo=UTC)) - datetime.now(UTC)  # SQLite: naive UTC
                if delay > timedelta(0):
                    options["start_delay"] = delay
            if command.name:
                options.update(start_signal=command.name, start_signal_args=[command.arg])
            try:
                await client.start_workflow(
                    str(command.workflow),
                    command.start_arg,
                    id=command.workflow_id,
                    task_queue=WORKFLOW_QUEUE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    **options,
                )
            except WorkflowAlreadyStartedError:
                pass  # over already: started once, never again (a signal has nothing left to reach)
            return DELIVERED
        handle = client.get_workflow_handle(command.workflow_id)
        try:
            if command.action == "signal":
                await handle.signal(str(command.name), command.arg)
            else:
                await handle.execute_update(str(command.name), command.arg)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return GONE
        return DELIVERED

    async def _settle(self, outcomes: list[tuple[Command, str, Any]]) -> None:
        t = self._table
        now = datetime.now(UTC)
        done: list[int] = []
        changed = False
        async with self._engine.begin() as conn:
            for command, outcome, error in outcomes:
                route = self._outbox.route(command.purpose)
                if outcome == DELIVERED:
                    if route.delivered is not None:
                        await route.delivered(conn, command)
                        changed = True
                    done.append(command.seq)
                    COMMANDS_DELIVERED.labels(self._service, command.purpose).inc()
                elif outcome == GONE and route.gone is not None:
                    await route.gone(conn, command)
                    changed = True
                    done.append(command.seq)
                    COMMANDS_DELIVERED.labels(self._service, command.purpose).inc()
                elif outcome in (GONE, DEAD):
                    reason = (
                        f"workflow_not_found: {command.workflow_id}"
                        if outcome == GONE
                        else f"{type(error).__name__}: {error}"
                    )
                    log.error(
                        "temporal command failed for good", purpose=command.purpose, ref=command.ref, reason=reason
                    )
                    await conn.execute(
                        update(t)
                        .where(t.c.seq == command.seq)
                        .values(state=FAILED, attempts=command.attempts + 1, last_error=reason[:500])
                    )
                    COMMANDS_FAILED.labels(self._service, command.purpose).inc()
                elif outcome == RETRY:
                    wait = self._backoff * 2**command.attempts
                    await conn.execute(
                        update(t)
                        .where(t.c.seq == command.seq)
                        .values(
                            attempts=command.attempts + 1,
                            next_attempt_at=now + timedelta(seconds=wait),
                            last_error=f"{type(error).__name__}: {error}"[:500],
                        )
                    )
                    COMMANDS_RETRIED.labels(self._service, command.purpose).inc()
            if done:
                await conn.execute(delete(t).where(key_in(conn, t.c.seq, done)))
        if changed:
            self._on_change()
