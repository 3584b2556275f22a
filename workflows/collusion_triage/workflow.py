"""A collusion triage (issue 14, Luoyang Art. 10), one workflow per suspected group, id
`collusion:{triage_id}`, started by the signals service in the transaction that published
`collusion.suspected.v1`: a `collusion_triage` task for the finance department of the project's
region (a child HumanTaskWorkflow). Decisions: `refer` (a `SUP-S-08` determination request for
each chosen supplier, with the indicators as evidence, filed by the signals service through the
normal path; never a record made here) or `dismiss` (with its reason). Activities run in the
signals service (queue `signals-activities`)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.activity_names import REFER_COLLUSION

with workflow.unsafe.imports_passed_through():
    from services.common.lawdates import local_date
    from services.common.temporal import SIGNALS_ACTIVITIES
    from workflows.collusion_triage.inputs import CollusionReferred, CollusionTriageInput
    from workflows.human_task.inputs import TaskOutcome, TaskSpec, task_workflow_id
    from workflows.human_task.workflow import HumanTaskWorkflow

STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


@workflow.defn
class CollusionTriageWorkflow:
    @workflow.run
    async def run(self, inp: CollusionTriageInput) -> str:
        first = inp.suppliers[0]
        spec = TaskSpec(
            task_id=inp.triage_id,
            kind="collusion_triage",
            region=inp.region,
            title=f"Suspected collusion: project {inp.project.get('code')}, {len(inp.suppliers)} suppliers",
            subject={"type": "supplier", "id": first["id"], "name": first.get("name") or first["id"]},
            context={"project": inp.project, "suppliers": inp.suppliers, "indicators": inp.indicators},
            due_working_days=inp.task_due_working_days,
            reminder_working_days_before=inp.reminder_working_days_before,
            escalation_working_days_after=inp.escalation_working_days_after,
            parent_workflow_id=workflow.info().workflow_id,
        )
        outcome: TaskOutcome = await workflow.execute_child_workflow(
            HumanTaskWorkflow.run, spec, id=task_workflow_id(inp.triage_id)
        )
        decision = outcome.decision
        if decision is None:
            return "cancelled"
        if decision.decision == "refer":
            chosen = set(decision.fields["suppliers"])
            await workflow.execute_activity(
                REFER_COLLUSION,
                CollusionReferred(
                    triage_id=inp.triage_id,
                    task_id=inp.triage_id,
                    region=inp.region,
                    project=inp.project,
                    suppliers=[s for s in inp.suppliers if s["id"] in chosen],
                    indicators=inp.indicators,
                    occurred_on=local_date(inp.at),
                    reason=decision.reason,
                    decided_by_org=decision.decided_by_org,
                ),
                task_queue=SIGNALS_ACTIVITIES,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STORE_RETRY,
            )
        return decision.decision
