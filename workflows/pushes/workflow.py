"""One push of a publication or a withdrawal to one national platform (001 Art. 21: 中国政府采购网,
信用中国), id `push:{idempotency_key}`, started by the publication service for every row it writes in
`publication_push` (blacklist notices, their removals, period notices).

Temporal retries the HTTP call (activity `deliver_push`, with backoff) for `escalation_seconds` (policy
`push_escalation_hours`). A push still failing then opens a case officer's task (a child
HumanTaskWorkflow, kind `push_failure`, in the record's region) while the attempts go on. Whichever
comes first ends the round:
- the platform accepts: the task is cancelled (nothing left to decide) and the push is delivered;
- `retry`: a new round of attempts with a fresh backoff (and a new task if it fails as long again);
- `acknowledge`: the officer has dealt with it outside the system (e.g. entered it on the platform
  by hand); the push ends `acknowledged`, its attempts stay on record."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.activity_names import DELIVER_PUSH, ESCALATE_PUSH, SETTLE_PUSH

with workflow.unsafe.imports_passed_through():
    from services.common.temporal import PUBLICATION_ACTIVITIES
    from workflows.human_task.inputs import TaskCancel, TaskOutcome, TaskSpec, task_workflow_id
    from workflows.human_task.workflow import HumanTaskWorkflow
    from workflows.pushes.inputs import PushEscalated, PushInput, PushRef, PushResult, PushSettled, PushStatus

PUSH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(hours=1)
)
ATTEMPT_TIMEOUT = timedelta(seconds=30)
STORE_TIMEOUT = timedelta(seconds=30)


def push_workflow_id(idempotency_key: str) -> str:
    return f"push:{idempotency_key}"


@workflow.defn
class PushWorkflow:
    def __init__(self) -> None:
        self._status: PushStatus | None = None
        self._round = 0

    @workflow.run
    async def run(self, inp: PushInput) -> PushResult:
        ref = PushRef(idempotency_key=inp.idempotency_key)
        while True:
            self._round += 1
            try:
                self._status = await workflow.execute_activity(
                    DELIVER_PUSH,
                    ref,
                    result_type=PushStatus,
                    task_queue=PUBLICATION_ACTIVITIES,
                    start_to_close_timeout=ATTEMPT_TIMEOUT,
                    schedule_to_close_timeout=timedelta(seconds=inp.escalation_seconds),
                    retry_policy=PUSH_RETRY,
                )
                return PushResult(state=self._status.state, rounds=self._round)
            except ActivityError:
                pass  # still failing after escalation_seconds of attempts
            outcome = await self._escalated_round(inp, ref)
            if outcome is not None:
                return outcome

    async def _escalated_round(self, inp: PushInput, ref: PushRef) -> PushResult | None:
        """A task is open and the attempts go on; the result, or None for another round (`retry`)."""
        task_id = f"push:{inp.idempotency_key}:r{self._round}"
        self._status = await workflow.execute_activity(
            ESCALATE_PUSH,
            PushEscalated(idempotency_key=inp.idempotency_key, task_id=task_id),
            result_type=PushStatus,
            task_queue=PUBLICATION_ACTIVITIES,
            start_to_close_timeout=STORE_TIMEOUT,
        )
        task = await workflow.start_child_workflow(
            HumanTaskWorkflow.run, self._task_spec(inp, task_id), id=task_workflow_id(task_id)
        )
        delivery = workflow.start_activity(
            DELIVER_PUSH,
            ref,
            result_type=PushStatus,
            task_queue=PUBLICATION_ACTIVITIES,
            start_to_close_timeout=ATTEMPT_TIMEOUT,
            retry_policy=PUSH_RETRY,
        )
        await workflow.wait([task, delivery], return_when=asyncio.FIRST_COMPLETED)
        if delivery.done():
            self._status = delivery.result()
            await task.signal(HumanTaskWorkflow.cancel, TaskCancel(reason="the platform accepted the push"))
            await task
            return PushResult(state=self._status.state, rounds=self._round)
        outcome: TaskOutcome = task.result()
        delivery.cancel()
        try:
            await delivery
        except (ActivityError, asyncio.CancelledError):
            pass
        decision = outcome.decision.decision if outcome.decision else "retry"
        if decision != "acknowledge":
            return None
        note = outcome.decision.reason if outcome.decision else ""
        self._status = await workflow.execute_activity(
            SETTLE_PUSH,
            PushSettled(idempotency_key=inp.idempotency_key, state="acknowledged", note=note),
            result_type=PushStatus,
            task_queue=PUBLICATION_ACTIVITIES,
            start_to_close_timeout=STORE_TIMEOUT,
        )
        return PushResult(state="acknowledged", rounds=self._round)

    def _task_spec(self, inp: PushInput, task_id: str) -> TaskSpec:
        status = self._status
        return TaskSpec(
            task_id=task_id,
            kind="push_failure",
            region=inp.region,
            title=f"Push to the {inp.platform} platform failing: {inp.action} {inp.notice_id}",
            subject=inp.subject,
            record_id=inp.record_id,
            context={
                "platform": inp.platform,
                "action": inp.action,
                "notice_id": inp.notice_id,
                "idempotency_key": inp.idempotency_key,
                "attempts": status.attempts if status else None,
                "last_error": status.last_error if status else None,
                "failing_for_seconds": inp.escalation_seconds,
            },
            due_working_days=inp.task_due_working_days,
            reminder_working_days_before=inp.reminder_working_days_before,
            escalation_working_days_after=inp.escalation_working_days_after,
            parent_workflow_id=workflow.info().workflow_id,
        )

    @workflow.query
    def get_status(self) -> PushStatus | None:
        return self._status
