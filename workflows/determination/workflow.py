"""A reported serious behaviour waiting for a finance department (CONTRACT §4, 001 Art. 17), one
workflow per request, id `determination:{request_id}`, started by the casework service when it
hears `determination.requested.v1`.

The case officer's step is a child HumanTaskWorkflow (kind `determination`, id `task:{request_id}`:
the task id is the request id the reporter got back as `task_id`); its decision is applied by the
evaluation service, the only one that changes records (`apply_determination`): `determine` records
the serious behaviour with its determination, `record_general` records a general behaviour instead,
`dismiss` records nothing (the reason stays in the task's audit trail).

Notice before listing (issue 16 point 5, 国办发〔2020〕49号 (八): before listing a subject as seriously
dishonest the department tells it the reasons, the basis and its rights): since
`workflow.patched("notice-before-listing")` a `determine` does not list at once. A child task of kind
`listing_confirmation` (id `task:{request_id}:listing`) opens; opening it notifies the subject
(`determination.intended.v1` on credit.tasks; before it, activity `note_intended_determination` puts it
in the subject's integrity archive) and the subject may file a statement on it. The
determination is applied (listed) when the officer confirms, or when the policy's statement window
passed with no statement filed (activity `close_statement_window` closes it and says whether one
was); `withdraw` ends it with nothing listed. A policy without a window: the officer's confirm.
Workflows started before the patch replay their old path (determination_v1)."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.activity_names import APPLY_DETERMINATION, CLOSE_STATEMENT_WINDOW, NOTE_INTENDED_DETERMINATION

with workflow.unsafe.imports_passed_through():
    from services.common.temporal import CASEWORK_ACTIVITIES, EVALUATION_ACTIVITIES
    from workflows.determination.inputs import DeterminationInput, DeterminationResult
    from workflows.human_task.inputs import TaskCancel, TaskDecision, TaskOutcome, TaskSpec, task_workflow_id
    from workflows.human_task.workflow import HumanTaskWorkflow
    from workflows.record_inputs import DeterminationApplied, DeterminationIntended, RecordChangeResult

# The decision is stored and audited already: applying it must get through, however long the
# evaluation service is away, so retry without end (with a ceiling on the backoff).
APPLY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10))
NOTICE_PATCH = "notice-before-listing"
WINDOW_PASSED = "statement_window_passed"


def _applied(request_id: str, d: TaskDecision) -> DeterminationApplied:
    """The officer's decision as the evaluation service applies (or notes as intended) it."""
    return DeterminationApplied(
        request_id=request_id,
        decision=d.decision,
        reason=d.reason,
        fields=d.fields,
        decided_by=d.decided_by,
        decided_by_org=d.decided_by_org,
        decided_at=d.decided_at,
    )


def listing_task_id(request_id: str) -> str:
    return f"{request_id}:listing"


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
        )
        if outcome.decision is None:
            return DeterminationResult(request_id=req.request_id, cancelled_reason=outcome.cancelled_reason)
        d = outcome.decision
        if d.decision == "determine" and workflow.patched(NOTICE_PATCH):
            confirmed = await self._confirmed(inp, d)
            if confirmed.decision == "withdraw":
                d = confirmed
        change = await workflow.execute_activity(
            APPLY_DETERMINATION,
            _applied(req.request_id, d),
            result_type=RecordChangeResult,
            task_queue=EVALUATION_ACTIVITIES,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=APPLY_RETRY,
        )
        return DeterminationResult(request_id=req.request_id, decision=d.decision, change=change)

    async def _confirmed(self, inp: DeterminationInput, d: TaskDecision) -> TaskDecision:
        """The listing_confirmation step: its deciding decision (`confirm`, or the window passing,
        returned as the determination itself; `withdraw`)."""
        req = inp.request
        task_id = listing_task_id(req.request_id)
        window = inp.statement_window_days
        statement_due = None if window is None else workflow.now() + timedelta(days=window)
        # The subject's integrity archive shows the intended determination from now on (its notice).
        await workflow.execute_activity(
            NOTE_INTENDED_DETERMINATION,
            DeterminationIntended(
                intended=_applied(req.request_id, d),
                statement_due=statement_due,
            ),
            result_type=bool,
            task_queue=EVALUATION_ACTIVITIES,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=APPLY_RETRY,
        )
        spec = TaskSpec(
            task_id=task_id,
            kind="listing_confirmation",
            region=req.region,
            title=f"列入严重失信名单确认 {req.behaviour_code}：{req.subject.get('name', req.subject.get('id', ''))}",
            subject=req.subject,
            context={
                "request": req.model_dump(mode="json"),
                "intended": d.model_dump(mode="json"),
                "statement_window_days": window,
                "statement_due": None if statement_due is None else statement_due.isoformat(),
            },
            due_working_days=inp.due_working_days,
            reminder_working_days_before=inp.reminder_working_days_before,
            escalation_working_days_after=inp.escalation_working_days_after,
            parent_workflow_id=workflow.info().workflow_id,
        )
        child = await workflow.start_child_workflow(HumanTaskWorkflow.run, spec, id=task_workflow_id(task_id))
        result = asyncio.ensure_future(_outcome(child))
        if window is not None:
            try:
                await workflow.wait_condition(result.done, timeout=timedelta(days=window))
            except TimeoutError:
                pass
            if not result.done():
                stated = await workflow.execute_activity(
                    CLOSE_STATEMENT_WINDOW,
                    task_id,
                    result_type=bool,
                    task_queue=CASEWORK_ACTIVITIES,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=APPLY_RETRY,
                )
                if not stated and not result.done():
                    try:
                        await child.signal(HumanTaskWorkflow.cancel, TaskCancel(reason=WINDOW_PASSED))
                    except Exception:  # noqa: BLE001 - the officer decided meanwhile: its outcome stands
                        workflow.logger.info("listing task closed before the window's cancel", extra={"task": task_id})
        outcome = await result
        if outcome.decision is not None and outcome.decision.decision == "withdraw":
            return outcome.decision
        if outcome.decision is None and outcome.cancelled_reason != WINDOW_PASSED:
            # Cancelled from outside: nothing confirms the listing, so nothing is listed.
            return TaskDecision(
                task_id=task_id,
                decision="withdraw",
                reason=f"listing task cancelled: {outcome.cancelled_reason}",
                decided_by="system",
                decided_by_org=req.region,
                decided_at=workflow.now(),
            )
        return d  # confirmed, or the window passed with no statement


async def _outcome(child: workflow.ChildWorkflowHandle[HumanTaskWorkflow, TaskOutcome]) -> TaskOutcome:
    return await child
