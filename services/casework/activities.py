"""Temporal activities of the casework service (queue `casework-activities`): HumanTaskWorkflow
opens its task here, fires its reminders and escalations, and closes it when cancelled. Each is
idempotent on the task id (and the alarm), so a retry after a commit changes nothing."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from services.casework import events, store
from services.casework.calendar_follower import load_at_start
from services.casework.models import MESSAGING, TASKS_T
from services.casework.plan import plan_task, replan_task
from services.common.messaging import write_outbox
from services.common.relay import OutboxRelay
from services.common.workdays import CalendarUnavailable
from workflows.activity_names import CANCEL_TASK, CLOSE_STATEMENT_WINDOW, ESCALATE_TASK, OPEN_TASK, REPLAN_TASK
from workflows.human_task.inputs import TaskAlarmFired, TaskClosed, TaskPlan, TaskReplanRequest, TaskSpec

CLOSED = ("completed", "cancelled")


class CaseworkActivities:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self._relay = relay

    def _wake(self) -> None:
        if self._relay is not None:
            self._relay.wake()

    @activity.defn(name=OPEN_TASK)
    async def open_task(self, spec: TaskSpec) -> TaskPlan:
        """Store the task with its plan and announce it (task.created.v1); a second call returns
        the stored plan. A year without an official holiday arrangement is counted on the
        provisional calendar and its dates are marked provisional (the task opens at once); only a
        year before the calendar data (2004) fails, retryably (type CalendarUnavailable)."""
        async with self._engine.connect() as conn:
            existing = await store.load(conn, spec.task_id)
        if existing is not None:
            return store.plan_of(existing)
        # When the workflow asked, the same on every attempt: a retry a day later (calendar data
        # installed meanwhile) still counts from the day the task arose.
        opened_at = activity.info().scheduled_time
        try:
            plan = plan_task(spec, opened_at)
        except CalendarUnavailable as exc:
            raise ApplicationError(str(exc), type="CalendarUnavailable") from exc
        now = datetime.now(UTC)
        row = store.new_row(spec, plan, now)
        async with self._engine.begin() as conn:
            await conn.execute(TASKS_T.insert().values(**row))
            await store.audit(
                conn,
                spec.task_id,
                at=now,
                actor=store.SYSTEM,
                role="workflow",
                action="created",
                details={"due_on": plan.due_on.isoformat(), "alarms": row["alarms"], "by": spec.parent_workflow_id},
            )
            out = [events.task_created(row, now)]
            if spec.kind == "listing_confirmation":
                out.append(events.determination_intended(row, now))  # the notice (issue 16 point 5)
            await write_outbox(conn, MESSAGING.outbox, out)
        self._wake()
        return plan

    @activity.defn(name=REPLAN_TASK)
    async def replan_task(self, req: TaskReplanRequest) -> TaskPlan:
        """Count the task's plan again on the calendar as installed now (never earlier, see
        plan.replan_task), store it, audit `replanned` with the reason and the dates before and
        after, and announce it (task.replanned.v1). Unchanged, or the task closed: nothing happens
        and the stored plan is returned (a retry after the commit finds it unchanged)."""
        # The database holds every install: this replica may not have heard the announcement yet.
        await load_at_start(self._engine)
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            task = await store.load(conn, req.spec.task_id, lock=True)
            if task is None:
                raise ApplicationError(f"no task {req.spec.task_id}", type="UnknownTask", non_retryable=True)
            old = store.plan_of(task)
            if task["state"] in CLOSED:
                return old
            fired = sorted({*req.fired_levels, *(int(k.split(":")[1]) for k in task["fired_alarms"])})
            new = replan_task(req.spec, old, fired)
            if new == old:
                return old
            alarms = [a.model_dump(mode="json") for a in new.alarms]
            task = await store.change(conn, task, due_on=new.due_on, due_provisional=new.due_provisional, alarms=alarms)
            await store.audit(
                conn,
                task["id"],
                at=now,
                actor=store.SYSTEM,
                role="workflow",
                action="replanned",
                details={
                    "reason": req.reason,
                    "due_on": {"from": old.due_on.isoformat(), "to": new.due_on.isoformat()},
                    "provisional": {"from": old.due_provisional, "to": new.due_provisional},
                    "alarms": {"from": [a.model_dump(mode="json") for a in old.alarms], "to": alarms},
                },
            )
            await write_outbox(conn, MESSAGING.outbox, [events.task_replanned(task, req.reason, now)])
        self._wake()
        return new

    @activity.defn(name=ESCALATE_TASK)
    async def escalate_task(self, fired: TaskAlarmFired) -> None:
        """Mark the reminder or escalation on the task (visible in the queue), audit it and
        announce it (task.escalated.v1). Nothing happens on a closed task or a repeated alarm."""
        alarm = fired.alarm.model_dump(mode="json")
        key = f"{alarm['kind']}:{alarm['level']}"
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            task = await store.load(conn, fired.task_id, lock=True)
            if task is None:
                raise ApplicationError(f"no task {fired.task_id}", type="UnknownTask", non_retryable=True)
            if task["state"] in CLOSED or key in task["fired_alarms"]:
                return
            values: dict = {"fired_alarms": [*task["fired_alarms"], key]}
            if alarm["kind"] == "reminder":
                values["reminded_at"] = now
            else:
                values |= {
                    "escalation_level": max(task["escalation_level"], alarm["level"]),
                    "escalated_to_region": alarm["to_region"],
                    "escalated_at": now,
                }
            task = await store.change(conn, task, **values)
            await store.audit(
                conn,
                task["id"],
                at=now,
                actor=store.SYSTEM,
                role="workflow",
                action="reminded" if alarm["kind"] == "reminder" else "escalated",
                details={"level": alarm["level"], "to_region": alarm["to_region"], "planned_at": alarm["at"]},
            )
            await write_outbox(conn, MESSAGING.outbox, [events.task_escalated(task, alarm, now)])
        self._wake()

    @activity.defn(name=CANCEL_TASK)
    async def cancel_task(self, closed: TaskClosed) -> None:
        """The task has nothing left to decide: close it (task.completed.v1, `cancelled` true).
        A task already decided keeps its decision."""
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            task = await store.load(conn, closed.task_id, lock=True)
            if task is None or task["state"] in CLOSED:
                return
            task = await store.change(conn, task, state="cancelled", cancelled_reason=closed.reason, completed_at=now)
            await store.audit(
                conn,
                task["id"],
                at=now,
                actor=store.SYSTEM,
                role="workflow",
                action="cancelled",
                details={"reason": closed.reason},
            )
            await write_outbox(conn, MESSAGING.outbox, [events.task_completed(task, now)])
        self._wake()

    @activity.defn(name=CLOSE_STATEMENT_WINDOW)
    async def close_statement_window(self, task_id: str) -> bool:
        """Issue 16 point 5: the statement window of a listing_confirmation task passed. Close it (no
        statement is taken after this, under the same row lock the statement takes) and say whether
        the subject filed one; a retry finds it closed and answers the same."""
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            task = await store.load(conn, task_id, lock=True)
            if task is None:
                return False
            context = task["context"] or {}
            if not context.get("window_closed_at"):
                context = {**context, "window_closed_at": now.isoformat()}
                await store.change(conn, task, context=context)
                await store.audit(
                    conn,
                    task_id,
                    at=now,
                    actor=store.SYSTEM,
                    role="workflow",
                    action="window_closed",
                    details={"statement": bool(context.get("statement"))},
                )
            return bool(context.get("statement"))
