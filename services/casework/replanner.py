"""Re-planning every open task when a year's holiday arrangement is installed: a consumer of
`credit.calendar` (one group for the service, so each announcement is handled once) writes a
`replan` signal for the workflow of each open task whose dates were counted through that year to
the command outbox (commands.py), in the transaction that marks the announcement processed; the
workflow counts its plan again in activity `replan_task` (never earlier). Temporal being away
delays the re-planning but never loses it; a task closed meanwhile has nothing left to re-plan."""

from datetime import date, datetime
from typing import Any

import structlog
from faststream import Context
from faststream.kafka import KafkaRouter
from sqlalchemy import select

from services.casework.commands import replan_command
from services.casework.models import COMMANDS, MESSAGING, TASKS_T
from services.casework.visibility import OPEN_STATES
from services.common.calendar_follower import counted_through, replan_reason
from services.common.commands import write_commands
from services.common.inbound import from_kafka
from services.common.messaging import already_processed, mark_processed
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import CALENDAR, CALENDAR_INSTALLED
from workflows.human_task.inputs import TaskReplan

log = structlog.get_logger(__name__)
GROUP_ID = "credit-casework-replan"


def touches(task: dict, year: int) -> bool:
    """Whether a date of the task was counted through `year` (from the day it opened to its last alarm)."""
    last = max([task["due_on"], *(datetime.fromisoformat(a["at"]).date() for a in task["alarms"])])
    return counted_through(task["opened_on"], last, year)


async def open_tasks_of(rt: Runtime, year: int) -> list[dict]:
    q = select(TASKS_T).where(TASKS_T.c.state.in_(OPEN_STATES), TASKS_T.c.due_on >= date(year - 1, 1, 1))
    async with rt.engine.connect() as conn:
        return [t for t in (dict(r._mapping) for r in await conn.execute(q)) if touches(t, year)]


async def replan_after(rt: Runtime, records: list[Any]) -> int:
    """Order a re-plan of the open tasks of each installed year heard; how many were ordered."""
    ordered = 0
    for item in from_kafka(records):
        env = item.envelope
        if env is None or env.type != CALENDAR_INSTALLED:
            continue  # the follower logs it; nothing to re-plan
        async with rt.engine.connect() as conn:
            if await already_processed(conn, MESSAGING.processed, [item.identity]):
                continue
        year, reason = int(env.data["year"]), replan_reason(env.data)
        replan = TaskReplan(year=year, reason=reason)
        tasks = await open_tasks_of(rt, year)
        async with rt.engine.begin() as conn:
            await write_commands(conn, COMMANDS, [replan_command(t["id"], t["workflow_id"], replan) for t in tasks])
            # The primary key makes a concurrent twin fail here, so no task is ordered twice.
            await mark_processed(conn, MESSAGING.processed, [(*item.identity, f"replanned:{len(tasks)}")])
        log.info("open tasks re-planned", year=year, tasks=len(tasks))
        ordered += len(tasks)
    rt.wake_commands()
    return ordered


def build_replanner(rt: Runtime, settings: Settings) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(CALENDAR, **batch_options(settings, group_id=GROUP_ID, background=True), title="re-planner")
    async def on_calendar(body: Any, message: Any = Context("message")) -> None:
        await replan_after(rt, message.raw_message)

    return router
