"""What casework owes Temporal, written to its command outbox (services.common.commands) in the
transaction that decided it, so nothing is lost while Temporal is away: the DeterminationWorkflow of
each accepted request, the `decide` signal of each stored decision (the HTTP call that stores a
decision also tries it at once) and the `replan` signal of each open task after a holiday
arrangement was installed (replanner.py). The command relay delivers them and notes it on the request
(`started_at`) or the task (`signal_pending`, `signalled_at`, `signal_error`). Starts use the
business-key workflow id and a signal repeated after a lost acknowledgement is ignored by the
workflow, so delivering twice is harmless."""

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.casework.models import COMMANDS, REQUESTS_T, TASKS_T
from services.common.commands import Command, CommandOutbox, Route, signal, start
from workflows.determination.inputs import DeterminationInput, determination_workflow_id
from workflows.determination.workflow import DeterminationWorkflow
from workflows.human_task.inputs import TaskDecision, TaskReplan

DETERMINATION = "casework.determination"
DECIDE = "casework.decide"
REPLAN = "casework.replan"


def determination_command(request_id: str, inp: dict | DeterminationInput) -> Command:
    return start(DETERMINATION, request_id, DeterminationWorkflow, determination_workflow_id(request_id), inp)


def decide_command(task_id: str, workflow_id: str, decision: TaskDecision) -> Command:
    return signal(DECIDE, task_id, workflow_id, "decide", decision)


def replan_command(task_id: str, workflow_id: str, replan: TaskReplan) -> Command:
    return signal(REPLAN, task_id, workflow_id, "replan", replan)


async def _nothing_to_replan(_conn: AsyncConnection, _command: Command) -> None:
    """The task's workflow closed meanwhile: nothing is left to re-plan."""


async def _note_start(conn: AsyncConnection, command: Command) -> None:
    await conn.execute(
        update(REQUESTS_T).where(REQUESTS_T.c.request_id == command.ref).values(started_at=datetime.now(UTC))
    )


async def _note_signal(conn: AsyncConnection, command: Command, error: str | None = None) -> None:
    await conn.execute(
        update(TASKS_T)
        .where(TASKS_T.c.id == command.ref)
        .values(signal_pending=False, signalled_at=datetime.now(UTC), signal_error=error)
    )


async def _undeliverable(conn: AsyncConnection, command: Command) -> None:
    """The task's workflow is gone: the decision is kept, marked as never delivered, with why."""
    await _note_signal(conn, command, f"workflow {command.workflow_id} not found or already closed")


OUTBOX = CommandOutbox(
    COMMANDS,
    {
        DETERMINATION: Route(delivered=_note_start),
        DECIDE: Route(delivered=_note_signal, gone=_undeliverable),
        REPLAN: Route(gone=_nothing_to_replan),
    },
)
