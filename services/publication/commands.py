"""The publication service's command outbox toward Temporal (services.common.commands): a push row
is written in the transaction that publishes its notice, with the command that starts its
PushWorkflow (id `push:{idempotency_key}`), so nothing is lost between the database and Temporal.
The workflow's input is worked out when the command is sent (the policy of that day, the settings'
escalation), and the push row notes the start (`started_at`); a start repeated after a crash finds
the workflow, and a run started again finds the row delivered and sends nothing."""

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.commands import Command, CommandOutbox, Route, start
from services.common.settings import Settings
from services.publication.models import COMMANDS
from services.publication.pushes import PUSHES_T, push_input
from workflows.pushes.workflow import PushWorkflow, push_workflow_id

PUSH = "publication.push"


def push_command(idempotency_key: str) -> Command:
    return start(PUSH, idempotency_key, PushWorkflow, push_workflow_id(idempotency_key), None)


def push_outbox(settings: Settings) -> CommandOutbox:
    async def with_input(engine: AsyncEngine, command: Command) -> Command:
        async with engine.connect() as conn:
            row = (await conn.execute(select(PUSHES_T).where(PUSHES_T.c.idempotency_key == command.ref))).one()
        return replace(command, start_arg=push_input(dict(row._mapping), settings).model_dump(mode="json"))

    async def note_start(conn: AsyncConnection, command: Command) -> None:
        await conn.execute(
            update(PUSHES_T).where(PUSHES_T.c.idempotency_key == command.ref).values(started_at=datetime.now(UTC))
        )

    return CommandOutbox(COMMANDS, {PUSH: Route(prepare=with_input, delivered=note_start)})
