"""Re-planning every open task when a year's holiday arrangement is installed: a consumer of
`credit.calendar` (one group for the service, so each announcement is handled once) sends `replan`
to the workflow of each open task whose dates were counted through that year; the workflow counts
its plan again in activity `replan_task` (never earlier). The announcement is marked processed only
after every signal was taken, so Temporal being away delays the re-planning but never loses it (the
batch is consumed again; a repeated `replan` finds the plan unchanged)."""

from datetime import date, datetime
from typing import Any

import structlog
from faststream import Context
from faststream.kafka import KafkaRouter
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from services.casework.delivery import TemporalLink
from services.casework.models import MESSAGING, TASKS_T
from services.casework.visibility import OPEN_STATES
from services.common.calendar_follower import replan_reason
from services.common.inbound import from_kafka
from services.common.messaging import already_processed, mark_processed
from services.common.runtime import Runtime
from services.common.settings import Settings
from services.common.subscribers import batch_options
from services.common.topics import CALENDAR, CALENDAR_INSTALLED
from workflows.human_task import HumanTaskWorkflow
from workflows.task_inputs import TaskReplan

log = structlog.get_logger(__name__)
GROUP_ID = "credit-casework-replan"


def touches(task: dict, year: int) -> bool:
    """Whether a date of the task was counted through `year` (from the day it opened to its last alarm)."""
    last = max([task["due_on"], *(datetime.fromisoformat(a["at"]).date() for a in task["alarms"])])
    return task["opened_on"].year <= year <= last.year


async def open_tasks_of(rt: Runtime, year: int) -> list[dict]:
    q = select(TASKS_T).where(TASKS_T.c.state.in_(OPEN_STATES), TASKS_T.c.due_on >= date(year - 1, 1, 1))
    async with rt.engine.connect() as conn:
        return [t for t in (dict(r._mapping) for r in await conn.execute(q)) if touches(t, year)]


async def signal_replan(client: Client, workflow_id: str, replan: TaskReplan) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).signal(HumanTaskWorkflow.replan, replan)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # closed meanwhile: nothing left to re-plan
            return False
        raise
    return True


async def replan_after(rt: Runtime, link: TemporalLink, records: list[Any]) -> int:
    """Signal the open tasks of each installed year heard; how many were signalled."""
    signalled = 0
    for item in from_kafka(records):
        env = item.envelope
        if env is None or env.type != CALENDAR_INSTALLED:
            continue  # the follower logs it; nothing to re-plan
        async with rt.engine.connect() as conn:
            if await already_processed(conn, MESSAGING.processed, [item.identity]):
                continue
        year, reason = int(env.data["year"]), replan_reason(env.data)
        tasks = await open_tasks_of(rt, year)
        if tasks:
            client = await link.client()
            for task in tasks:
                signalled += await signal_replan(client, task["workflow_id"], TaskReplan(year=year, reason=reason))
        log.info("open tasks re-planned", year=year, tasks=len(tasks))
        async with rt.engine.begin() as conn:
            await mark_processed(conn, MESSAGING.processed, [(*item.identity, f"replanned:{len(tasks)}")])
    return signalled


def build_replanner(rt: Runtime, settings: Settings, link: TemporalLink) -> KafkaRouter:
    router = KafkaRouter()

    @router.subscriber(CALENDAR, group_id=GROUP_ID, **batch_options(settings, background=True), title="re-planner")
    async def on_calendar(body: Any, message: Any = Context("message")) -> None:
        await replan_after(rt, link, message.raw_message)

    return router
