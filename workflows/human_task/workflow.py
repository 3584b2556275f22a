"""A case officer's task (issue 5), one workflow per task, id `task:{task_id}`: it opens the task
in the casework service (which computes the due date in working days of the Chinese calendar and
the moments of the reminder and the escalations), fires each alarm on its working day unless a
decision or a cancellation came first, and returns the outcome to the parent workflow.

The decision is stored by the casework service (claimed by the deciding officer, validated, audited)
before it is signalled here, so this workflow only waits; a repeated or late signal changes nothing.
Dates need the calendar, so they are computed by an activity: its result is in the history, and a
later calendar release can never change what a running task replays."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.activity_names import CANCEL_TASK, ESCALATE_TASK, OPEN_TASK, REPLAN_TASK

with workflow.unsafe.imports_passed_through():
    from services.common.temporal import CASEWORK_ACTIVITIES
    from workflows.human_task.inputs import (
        TaskAlarmFired,
        TaskCancel,
        TaskClosed,
        TaskDecision,
        TaskOutcome,
        TaskPlan,
        TaskReplan,
        TaskReplanRequest,
        TaskSpec,
    )

# A year not announced yet is counted on the provisional calendar (marked provisional), so opening
# only fails for a year before the calendar data (CalendarUnavailable), retried visibly.
OPEN_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(hours=1))
ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Tasks started before it keep the old alarm loop on replay; it ignores `replan`.
REPLAN_PATCH = "replan-on-calendar"


@workflow.defn
class HumanTaskWorkflow:
    @workflow.init
    def __init__(self, spec: TaskSpec) -> None:
        self._spec = spec
        self._plan: TaskPlan | None = None
        self._decision: TaskDecision | None = None
        self._cancel: TaskCancel | None = None
        self._fired: list[int] = []
        self._replans: list[TaskReplan] = []

    @workflow.run
    async def run(self, spec: TaskSpec) -> TaskOutcome:
        self._plan = await workflow.execute_activity(
            OPEN_TASK,
            spec,
            result_type=TaskPlan,
            task_queue=CASEWORK_ACTIVITIES,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=OPEN_RETRY,
        )
        if workflow.patched(REPLAN_PATCH):
            await self._alarms_replanned(spec)
        else:
            await self._alarms_v1(spec)
        await workflow.wait_condition(self._settled)
        if self._decision is not None:
            return TaskOutcome(task_id=spec.task_id, decision=self._decision)
        assert self._cancel is not None
        await workflow.execute_activity(
            CANCEL_TASK,
            TaskClosed(task_id=spec.task_id, reason=self._cancel.reason),
            task_queue=CASEWORK_ACTIVITIES,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
        )
        return TaskOutcome(task_id=spec.task_id, cancelled_reason=self._cancel.reason)

    async def _alarms_replanned(self, spec: TaskSpec) -> None:
        """Each alarm on its moment, the next one first; a `replan` while waiting counts the plan
        again (activity `replan_task`: never earlier) and the wait starts over on the new plan."""
        while not self._settled():
            assert self._plan is not None
            pending = sorted((a for a in self._plan.alarms if a.level not in self._fired), key=lambda a: a.at)
            if self._replans:
                replan = self._replans.pop(0)
                self._plan = await workflow.execute_activity(
                    REPLAN_TASK,
                    TaskReplanRequest(spec=spec, plan=self._plan, fired_levels=list(self._fired), reason=replan.reason),
                    result_type=TaskPlan,
                    task_queue=CASEWORK_ACTIVITIES,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=OPEN_RETRY,
                )
                continue
            if not pending:
                return
            alarm = pending[0]
            wait = alarm.at - workflow.now()
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: self._settled() or bool(self._replans), timeout=wait)
                except TimeoutError:
                    pass
                if self._settled() or self._replans:
                    continue
            await workflow.execute_activity(
                ESCALATE_TASK,
                TaskAlarmFired(task_id=spec.task_id, alarm=alarm),
                task_queue=CASEWORK_ACTIVITIES,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
            )
            self._fired.append(alarm.level)

    async def _alarms_v1(self, spec: TaskSpec) -> None:
        """The alarm loop of tasks started before re-planning (kept for their replay)."""
        assert self._plan is not None
        for alarm in sorted(self._plan.alarms, key=lambda a: a.at):
            wait = alarm.at - workflow.now()
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(self._settled, timeout=wait)
                except TimeoutError:
                    pass
            if self._settled():
                break
            await workflow.execute_activity(
                ESCALATE_TASK,
                TaskAlarmFired(task_id=spec.task_id, alarm=alarm),
                task_queue=CASEWORK_ACTIVITIES,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
            )
            self._fired.append(alarm.level)

    def _settled(self) -> bool:
        return self._decision is not None or self._cancel is not None

    @workflow.signal
    def decide(self, decision: TaskDecision) -> None:
        if not self._settled() and decision.task_id == self._spec.task_id:
            self._decision = decision

    @workflow.signal
    def cancel(self, cancel: TaskCancel) -> None:
        if not self._settled():
            self._cancel = cancel

    @workflow.signal
    def replan(self, replan: TaskReplan) -> None:
        """A year's holiday arrangement was installed (sent by casework to every open task)."""
        if not self._settled():
            self._replans.append(replan)

    @workflow.query
    def get_plan(self) -> TaskPlan | None:
        return self._plan

    @workflow.query
    def get_fired_levels(self) -> list[int]:
        return list(self._fired)
