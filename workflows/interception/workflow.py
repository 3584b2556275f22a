"""An interception (issue 13, 004 #8 系统自动预警和拦截), one workflow per interception, id
`interception:{region}:{code}:{rule}:{subject}`, started by the watch service once it has published
`interception.raised.v1`: an `interception` task for the finance department of the project's
region (a child HumanTaskWorkflow with the region's reminder and escalations). Decisions:
`report_behaviour` (a behaviour report through the normal intake, never a record made here) or
`dismiss` (with its reason). Activities run in the watch service (queue `watch-activities`)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.activity_names import REPORT_INTERCEPTED_BEHAVIOUR

with workflow.unsafe.imports_passed_through():
    from services.common.lawdates import local_date
    from services.common.temporal import WATCH_ACTIVITIES
    from workflows.deadline_clock.inputs import InterceptionDecided, InterceptionInput
    from workflows.human_task.inputs import TaskOutcome, TaskSpec, task_workflow_id
    from workflows.human_task.workflow import HumanTaskWorkflow

STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


def interception_task_id(interception_id: str) -> str:
    return f"interception:{interception_id}"


@workflow.defn
class InterceptionWorkflow:
    @workflow.run
    async def run(self, inp: InterceptionInput) -> str:
        task_id = interception_task_id(inp.interception_id)
        spec = TaskSpec(
            task_id=task_id,
            kind="interception",
            region=inp.region,
            title=f"Intercepted ({inp.rule}): project {inp.project.get('code')}, {inp.subject.get('name')}",
            subject=inp.subject,
            context={"project": inp.project, "rule": inp.rule, "detail": inp.detail, "basis": inp.basis},
            due_working_days=inp.task_due_working_days,
            reminder_working_days_before=inp.reminder_working_days_before,
            escalation_working_days_after=inp.escalation_working_days_after,
            parent_workflow_id=workflow.info().workflow_id,
        )
        outcome: TaskOutcome = await workflow.execute_child_workflow(
            HumanTaskWorkflow.run, spec, id=task_workflow_id(task_id)
        )
        decision = outcome.decision
        if decision is None:
            return "cancelled"
        if decision.decision == "report_behaviour":
            await workflow.execute_activity(
                REPORT_INTERCEPTED_BEHAVIOUR,
                InterceptionDecided(
                    interception_id=inp.interception_id,
                    task_id=task_id,
                    region=inp.region,
                    project=inp.project,
                    subject=inp.subject,
                    occurred_on=local_date(inp.at),
                    behaviour_code=decision.fields["behaviour_code"],
                    reason=decision.reason,
                    decided_by_org=decision.decided_by_org,
                ),
                task_queue=WATCH_ACTIVITIES,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STORE_RETRY,
            )
        return decision.decision
