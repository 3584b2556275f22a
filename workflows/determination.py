"""A reported serious behaviour waiting for a finance department (CONTRACT §4, 001 Art. 17), one
workflow per request, id `determination:{request_id}`, started by the casework service when it
hears `determination.requested.v1`.

The case officer's step is a child HumanTaskWorkflow (kind `determination`, id `task:{request_id}`:
the task id is the request id the reporter got back as `task_id`); its decision is applied by the
evaluation service, the only one that changes records (`apply_determination`): `determine` records
the serious behaviour with its determination, `record_general` records a general behaviour instead,
`dismiss` records nothing (the reason stays in the task's audit trail)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from services.common.temporal import EVALUATION_ACTIVITIES
    from workflows.determination_inputs import DeterminationInput, DeterminationResult
    from workflows.human_task import HumanTaskWorkflow
    from workflows.record_inputs import DeterminationApplied, RecordChangeResult
    from workflows.task_inputs import TaskOutcome, TaskSpec, task_workflow_id

# The decision is stored and audited already: applying it must get through, however long the
# evaluation service is away, so retry without end (with a ceiling on the backoff).
APPLY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10))


@workflow.defn
class DeterminationWorkflow:
    @workflow.run
    async def run(self, inp: DeterminationInput) -> DeterminationResult:
        req = inp.request
        code = req.behaviour_code
        spec = TaskSpec(
            task_id=req.request_id,
            kind="determination",
            region=req.region,
            title=f"严重失信行为认定 {code}：{req.subject.get('name', req.subject.get('id', ''))}",
            subject=req.subject,
            context={"request": req.model_dump(mode="json")},
            due_working_days=inp.due_working_days,
            reminder_working_days_before=inp.reminder_working_days_before,
            escalation_working_days_after=inp.escalation_working_days_after,
            parent_workflow_id=workflow.info().workflow_id,
        )
        outcome: TaskOutcome = await workflow.execute_child_workflow(
            HumanTaskWorkflow.run,
            spec,
            id=task_workflow_id(req.request_id),
            result_type=TaskOutcome,
        )
        if outcome.decision is None:
            return DeterminationResult(request_id=req.request_id, cancelled_reason=outcome.cancelled_reason)
        d = outcome.decision
        change = await workflow.execute_activity(
            "apply_determination",
            DeterminationApplied(
                request_id=req.request_id,
                decision=d.decision,
                reason=d.reason,
                fields=d.fields,
                decided_by=d.decided_by,
                decided_by_org=d.decided_by_org,
                decided_at=d.decided_at,
            ),
            result_type=RecordChangeResult,
            task_queue=EVALUATION_ACTIVITIES,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=APPLY_RETRY,
        )
        return DeterminationResult(request_id=req.request_id, decision=d.decision, change=change)
