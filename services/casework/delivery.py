"""What casework owes Temporal, delivered from its own tables so that nothing is lost while Temporal
is away: the DeterminationWorkflow of each accepted request, and the `decide` signal of each stored
decision. The request or the decision is committed first; this loop (and, for a decision, a first
attempt right after the commit) delivers it and marks it delivered. Starts use the business-key
workflow id with USE_EXISTING and a signal repeated after a lost acknowledgement is ignored by the
workflow, so delivering twice is harmless."""

import asyncio
from datetime import UTC, datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from services.casework.models import REQUESTS_T, TASKS_T
from services.common.settings import Settings
from services.common.temporal import WORKFLOW_QUEUE, LazyClient
from workflows.determination import DeterminationWorkflow
from workflows.determination_inputs import DeterminationInput, determination_workflow_id
from workflows.human_task import HumanTaskWorkflow
from workflows.task_inputs import TaskDecision

log = structlog.get_logger(__name__)
BATCH = 100


class TemporalLink:
    """One Temporal client for the process, connected on first use (Temporal may start later)."""

    def __init__(self, settings: Settings) -> None:
        self._temporal = LazyClient(settings)
        self.wake = asyncio.Event()

    async def client(self) -> Client:
        return await self._temporal.get()


async def signal_decision(client: Client, workflow_id: str, decision: TaskDecision) -> str | None:
    """Deliver one decision; None when delivered, else why it never can be (no such workflow)."""
    try:
        await client.get_workflow_handle(workflow_id).signal(HumanTaskWorkflow.decide, decision)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return f"workflow {workflow_id} not found or already closed: {exc.message}"[:500]
        raise
    return None


async def mark_signalled(engine: AsyncEngine, task_id: str, error: str | None) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(TASKS_T)
            .where(TASKS_T.c.id == task_id)
            .values(signal_pending=False, signalled_at=datetime.now(UTC), signal_error=error)
        )


async def deliver_pending(engine: AsyncEngine, client: Client) -> int:
    """Start the workflows and send the signals still owed; how many were delivered."""
    delivered = 0
    async with engine.connect() as conn:
        starts = (await conn.execute(select(REQUESTS_T).where(REQUESTS_T.c.started_at.is_(None)).limit(BATCH))).all()
        signals = (
            await conn.execute(
                select(TASKS_T.c.id, TASKS_T.c.workflow_id, TASKS_T.c.decision)
                .where(TASKS_T.c.signal_pending.is_(True))
                .limit(BATCH)
            )
        ).all()
    for r in starts:
        await client.start_workflow(
            DeterminationWorkflow.run,
            DeterminationInput.model_validate(r.workflow_input),
            id=determination_workflow_id(r.request_id),
            task_queue=WORKFLOW_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        async with engine.begin() as conn:
            await conn.execute(
                update(REQUESTS_T).where(REQUESTS_T.c.request_id == r.request_id).values(started_at=datetime.now(UTC))
            )
        delivered += 1
    for s in signals:
        error = await signal_decision(client, s.workflow_id, TaskDecision.model_validate(s.decision))
        if error:
            log.error("decision cannot be delivered", task_id=s.id, error=error)
        await mark_signalled(engine, s.id, error)
        delivered += 1
    return delivered


async def run_deliveries(engine: AsyncEngine, link: TemporalLink, *, idle_seconds: float = 5.0) -> None:
    """Deliver whenever woken (a commit owes something) and every `idle_seconds` (what a failed
    attempt left). A failure propagates: keep_running logs it and starts the loop again."""
    client = await link.client()
    while True:
        link.wake.clear()
        if await deliver_pending(engine, client) >= BATCH:
            continue
        try:
            await asyncio.wait_for(link.wake.wait(), timeout=idle_seconds)
        except TimeoutError:
            pass
