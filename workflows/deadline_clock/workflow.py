"""A procurement deadline's clock (issue 13), one workflow per clock, id `clock:{region}:{code}:
{stage}:{contract_no}`, started by the watch service when the starting fact arrives with no
completing fact yet, and stopped (signal `stop`) by the completing fact.

1. At the start of the working day before the due date: `due_soon` to the responsible purchaser
   (skipped when that moment passed before the clock started or the clock is already overdue).
2. At the start of the day after the due date: `overdue`, and a `deadline_overdue` task for the
   finance department of the project's region (a child HumanTaskWorkflow, with its reminder and
   escalations), announced as `escalated` with the task's id. An event that arrives late is overdue
   on arrival: the moments are counted from the fact's own time, not from receipt.
3. The officer decides: `remind` (another notice to the purchaser), `report_behaviour` (a behaviour
   report through the normal intake, never a record made here), `dismiss` (with its reason).
A stop before the due moment ends the clock in time; a stop after it leaves the task to be decided.
A `replan` (the watch, when the official arrangement of a year the due date was counted through on a
provisional calendar is installed) moves the moments still ahead; clocks started before
`workflow.patched("clock-replan-on-calendar")` keep their plan on replay and ignore it.
Activities run in the watch service (queue `watch-activities`)."""

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.activity_names import DELIVER_NOTICES, RAISE_WARNING, REPORT_OVERDUE_BEHAVIOUR, SETTLE_CLOCK

with workflow.unsafe.imports_passed_through():
    from services.common.temporal import WATCH_ACTIVITIES
    from workflows.deadline_clock.inputs import (
        ClockInput,
        ClockReplan,
        ClockResult,
        ClockStop,
        OverdueDecided,
        WarningRaised,
    )
    from workflows.human_task.inputs import TaskOutcome, TaskSpec, task_workflow_id
    from workflows.human_task.workflow import HumanTaskWorkflow

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Clocks started before it keep their first plan on replay; they ignore `replan`.
CLOCK_REPLAN_PATCH = "clock-replan-on-calendar"
STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


@workflow.defn
class DeadlineClockWorkflow:
    def __init__(self) -> None:
        self._stop: ClockStop | None = None
        self._levels: list[str] = []
        self._notify_attempts = 5
        self._replannable = False
        self._replans: list[ClockReplan] = []
        self._plan: ClockReplan | None = None

    @workflow.run
    async def run(self, inp: ClockInput) -> ClockResult:
        self._notify_attempts = inp.notify_attempts
        self._plan = ClockReplan(
            due_on=inp.due_on, due_soon_at=inp.due_soon_at, overdue_at=inp.overdue_at, provisional=inp.provisional
        )
        self._replannable = workflow.patched(CLOCK_REPLAN_PATCH)
        if self._current().due_soon_at is not None and not await self._stopped_before(
            lambda: self._current().due_soon_at
        ):
            plan = self._current()
            if plan.due_soon_at is not None and workflow.now() < plan.overdue_at:  # None: replanned away
                await self._warn(WarningRaised(clock_id=inp.clock_id, level="due_soon"))
        if await self._stopped_before(lambda: self._current().overdue_at):
            return ClockResult(clock_id=inp.clock_id, outcome="in_time", levels=self._levels)  # type: ignore[arg-type]
        await self._warn(WarningRaised(clock_id=inp.clock_id, level="overdue"))
        task_id = f"deadline:{inp.clock_id}"
        task = await workflow.start_child_workflow(
            HumanTaskWorkflow.run, self._task_spec(inp, task_id), id=task_workflow_id(task_id)
        )
        await self._warn(WarningRaised(clock_id=inp.clock_id, level="escalated", task_id=task_id))
        outcome: TaskOutcome = await task
        decision = outcome.decision
        if decision is None:
            return ClockResult(clock_id=inp.clock_id, outcome="late", levels=self._levels)  # type: ignore[arg-type]
        decided = OverdueDecided(
            clock_id=inp.clock_id,
            task_id=task_id,
            decision=decision.decision,
            reason=decision.reason,
            fields=decision.fields,
            decided_by=decision.decided_by,
            decided_by_org=decision.decided_by_org,
        )
        if decision.decision == "remind":
            await self._warn(WarningRaised(clock_id=inp.clock_id, level="overdue", task_id=task_id, reminder=True))
        elif decision.decision == "report_behaviour":
            await workflow.execute_activity(
                REPORT_OVERDUE_BEHAVIOUR,
                decided,
                task_queue=WATCH_ACTIVITIES,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        await workflow.execute_activity(
            SETTLE_CLOCK,
            decided,
            task_queue=WATCH_ACTIVITIES,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        return ClockResult(
            clock_id=inp.clock_id,
            outcome="overdue_decided",
            levels=self._levels,  # type: ignore[arg-type]
            decision=decision.decision,
        )

    def _current(self) -> ClockReplan:
        """The plan in force: the input's, or the last `replan` taken (only when replannable)."""
        if self._replannable and self._replans:
            self._plan = self._replans[-1]
            self._replans.clear()
        assert self._plan is not None
        return self._plan

    async def _stopped_before(self, moment: Callable[[], datetime | None]) -> bool:
        """Wait until `moment` (read again after each `replan`) unless stopped first; True when stopped."""
        while True:
            at = moment()
            left = at - workflow.now() if at is not None else timedelta(0)
            if self._stop is not None or left <= timedelta(0):
                return self._stop is not None
            try:
                await workflow.wait_condition(
                    lambda: self._stop is not None or (self._replannable and bool(self._replans)), timeout=left
                )
            except TimeoutError:
                return self._stop is not None
            if self._stop is not None:
                return True

    async def _warn(self, raised: WarningRaised) -> None:
        """Store and publish the warning, then notify the people (bounded: a notice that fails every
        attempt is recorded `failed` and the clock goes on)."""
        wid = await workflow.execute_activity(
            RAISE_WARNING,
            raised,
            result_type=str,
            task_queue=WATCH_ACTIVITIES,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if not raised.reminder:
            self._levels.append(raised.level)
        try:
            await workflow.execute_activity(
                DELIVER_NOTICES,
                wid,
                result_type=int,
                task_queue=WATCH_ACTIVITIES,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    maximum_interval=timedelta(minutes=1),
                    maximum_attempts=self._notify_attempts,
                ),
            )
        except ActivityError:
            pass  # recorded `failed` by its last attempt

    def _task_spec(self, inp: ClockInput, task_id: str) -> TaskSpec:
        plan = self._current()
        return TaskSpec(
            task_id=task_id,
            kind="deadline_overdue",
            region=inp.region,
            title=f"Deadline passed: {inp.stage} of project {inp.project.get('code')} (due {plan.due_on.isoformat()})",
            subject=inp.responsible,
            context={
                "project": inp.project,
                "stage": inp.stage,
                "due_on": plan.due_on.isoformat(),
                "provisional": plan.provisional,
                "rule": inp.rule,
                "clock_id": inp.clock_id,
            },
            due_working_days=inp.task_due_working_days,
            reminder_working_days_before=inp.reminder_working_days_before,
            escalation_working_days_after=inp.escalation_working_days_after,
            parent_workflow_id=workflow.info().workflow_id,
        )

    @workflow.signal
    def stop(self, stop: ClockStop) -> None:
        if self._stop is None:
            self._stop = stop

    @workflow.signal
    def replan(self, replan: ClockReplan) -> None:
        self._replans.append(replan)  # taken by the waits only when the clock is replannable

    @workflow.query
    def get_levels(self) -> list[str]:
        return list(self._levels)
