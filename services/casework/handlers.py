"""Kafka consumer of the casework service: `determination.requested.v1` on `credit.tasks` (CONTRACT
§4: a serious code reported by a purchaser or agency waits for the finance department). Each
accepted request is stored with the input of its DeterminationWorkflow, in the transaction that
marks the event processed, with the command that starts the workflow (commands.py). Casework's own task.* events on
the same topic are not input and are passed over; anything else is dead-lettered."""

from datetime import datetime
from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.casework.commands import determination_command
from services.casework.events import SOURCE
from services.casework.models import COMMANDS, MESSAGING, REQUESTS_T
from services.common.batches import consume
from services.common.commands import write_commands
from services.common.contracts.decode import Typed
from services.common.contracts.owners import CASEWORK
from services.common.contracts.tasks import (
    DETERMINATION_INTENDED,
    DETERMINATION_REQUESTED,
    TASK_COMPLETED,
    TASK_CREATED,
    TASK_ESCALATED,
    TASK_REPLANNED,
)
from services.common.frame import Accepted, Batch, Consumer, Rejected, counts, handle_batch
from services.common.identifiers import is_division_code
from services.common.inbound import Inbound, from_kafka
from services.common.lawdates import local_date
from services.common.policy import policy_for
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import TASKS
from workflows.determination.inputs import DeterminationInput, DeterminationRequest

GROUP_ID = "credit-casework"
# What casework itself writes to credit.tasks: passed over, not read.
OWN_TYPES = frozenset(
    c.type for c in (TASK_CREATED, TASK_ESCALATED, TASK_COMPLETED, TASK_REPLANNED, DETERMINATION_INTENDED)
)


async def accept(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> dict[str, int]:
    results = counts(await handle_batch(CONSUMER, conn, items, now=now))
    return {k: results.get(k, 0) for k in ("accepted", "duplicate", "rejected", "passed")}


async def _request(event: Typed[DeterminationRequest], batch: Batch) -> Accepted | Rejected:
    request = event.data
    if not is_division_code(request.region):
        return Rejected("invalid_identifier", f"region {request.region!r} is not a division code")
    try:
        policy = policy_for(request.region, local_date(request.reported_at))
    except LookupError as exc:
        return Rejected("no_policy", str(exc))
    # Durations of the policy in force when the behaviour was reported travel with the workflow.
    inp = DeterminationInput(
        request=request,
        due_working_days=policy.determination_working_days,
        reminder_working_days_before=policy.tasks.reminder_working_days_before,
        escalation_working_days_after=policy.tasks.escalation_working_days_after,
        statement_window_days=policy.statement_window_days(),
    )
    row: dict[str, Any] = {
        "request_id": request.request_id,
        "region": request.region,
        "workflow_input": inp.model_dump(mode="json"),
        "received_at": batch.now,
        "started_at": None,
    }
    requests: dict[str, dict[str, Any]] = batch.state("requests", dict)
    requests.setdefault(request.request_id, row)
    return Accepted()


async def _store(batch: Batch) -> None:
    rows: dict[str, dict] = batch.state("requests", dict)
    if not rows:
        return
    # A request re-sent under another event id is the same request: its first row stands.
    q = select(REQUESTS_T.c.request_id).where(REQUESTS_T.c.request_id.in_(list(rows)))
    existing = {r.request_id for r in await batch.conn.execute(q)}
    new = [r for k, r in rows.items() if k not in existing]
    if new:
        await batch.conn.execute(REQUESTS_T.insert(), new)
        await write_commands(
            batch.conn, COMMANDS, [determination_command(r["request_id"], r["workflow_input"]) for r in new]
        )


# Fields: service, source, messaging tables, topics, handlers by contract (then options).
CONSUMER = Consumer(
    CASEWORK,
    SOURCE,
    MESSAGING,
    (TASKS,),
    {DETERMINATION_REQUESTED: _request},
    passes=OWN_TYPES,
    conflicts=False,
    finish=_store,
)


def build_router(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        TASKS, **batch_options(settings, group_id=GROUP_ID, background=True), title="determination requests"
    )
    async def on_tasks(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        await consume(rt, items, accept, messaging=MESSAGING, source=SOURCE, service="casework")
        rt.wake_commands()

    return router
