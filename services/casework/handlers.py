"""Kafka consumer of the casework service: `determination.requested.v1` on `credit.tasks` (CONTRACT
§4: a serious code reported by a purchaser or agency waits for the finance department). Each
accepted request is stored with the input of its DeterminationWorkflow, in the transaction that
marks the event processed, with the command that starts the workflow (commands.py). Casework's own task.* events on
the same topic are not input and are passed over; anything else is dead-lettered."""

from datetime import datetime
from typing import Any

from faststream import Context
from faststream.kafka import KafkaRouter
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.casework.commands import determination_command
from services.casework.events import SOURCE
from services.casework.models import COMMANDS, MESSAGING, REQUESTS_T
from services.common.batches import consume
from services.common.commands import write_commands
from services.common.deadletter import rejected_event
from services.common.identifiers import is_division_code
from services.common.inbound import Inbound, from_kafka
from services.common.lawdates import local_date
from services.common.messaging import already_processed, mark_processed, write_outbox
from services.common.policy import policy_for
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import DETERMINATION_INTENDED, DETERMINATION_REQUESTED, TASKS, TYPE_PREFIX
from workflows.determination.inputs import DeterminationInput, DeterminationRequest

GROUP_ID = "credit-casework"
OWN_TYPES_PREFIX = TYPE_PREFIX + "task."


def _own(type_: str) -> bool:
    """What casework itself writes to credit.tasks: passed over, not read."""
    return type_.startswith(OWN_TYPES_PREFIX) or type_ == DETERMINATION_INTENDED


async def accept(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> dict[str, int]:
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "passed": 0}
    relevant = [i for i in items if not (i.envelope and _own(i.envelope.type))]
    counts["passed"] = len(items) - len(relevant)
    seen = await already_processed(conn, MESSAGING.processed, [i.identity for i in relevant])
    rows: dict[str, dict] = {}
    processed, dead = [], []
    for item in relevant:
        if item.identity in seen:
            counts["duplicate"] += 1
            continue
        seen.add(item.identity)
        reason, message, row = _request_row(item, now)
        if row is None:
            dead.append(rejected_event(item, reason=reason, message=message, source=SOURCE, now=now))
            processed.append((*item.identity, "rejected"))
            counts["rejected"] += 1
            continue
        rows.setdefault(row["request_id"], row)
        processed.append((*item.identity, "accepted"))
        counts["accepted"] += 1
    if rows:
        # A request re-sent under another event id is the same request: its first row stands.
        existing = {
            r.request_id
            for r in await conn.execute(select(REQUESTS_T.c.request_id).where(REQUESTS_T.c.request_id.in_(list(rows))))
        }
        new = [r for k, r in rows.items() if k not in existing]
        if new:
            await conn.execute(REQUESTS_T.insert(), new)
            await write_commands(
                conn, COMMANDS, [determination_command(r["request_id"], r["workflow_input"]) for r in new]
            )
    await mark_processed(conn, MESSAGING.processed, processed)
    await write_outbox(conn, MESSAGING.outbox, dead)
    return counts


def _request_row(item: Inbound, now: datetime) -> tuple[str, str, dict | None]:
    env = item.envelope
    if env is None:
        return item.reason or "malformed_event", item.message or "not a CloudEvent", None
    if env.type != DETERMINATION_REQUESTED:
        return "unknown_type", f"{env.type!r} is not read from {TASKS} by casework", None
    try:
        request = DeterminationRequest.model_validate(env.data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return "invalid_data", problems[:1000], None
    if not is_division_code(request.region):
        return "invalid_identifier", f"region {request.region!r} is not a division code", None
    try:
        policy = policy_for(request.region, local_date(request.reported_at))
    except LookupError as exc:
        return "no_policy", str(exc), None
    # Durations of the policy in force when the behaviour was reported travel with the workflow.
    inp = DeterminationInput(
        request=request,
        due_working_days=policy.determination_working_days,
        reminder_working_days_before=policy.tasks.reminder_working_days_before,
        escalation_working_days_after=policy.tasks.escalation_working_days_after,
        statement_window_days=policy.statement_window_days(),
    )
    row = {
        "request_id": request.request_id,
        "region": request.region,
        "workflow_input": inp.model_dump(mode="json"),
        "received_at": now,
        "started_at": None,
    }
    return "", "", row


def build_router(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(
        TASKS, group_id=GROUP_ID, **batch_options(settings, background=True), title="determination requests"
    )
    async def on_tasks(body: Any, message: Any = Context("message")) -> None:
        items = from_kafka(message.raw_message)
        await consume(rt, items, accept, messaging=MESSAGING, source=SOURCE, service="casework")
        rt.wake_commands()

    return router
