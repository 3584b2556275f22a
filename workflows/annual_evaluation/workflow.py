"""The yearly evaluation of a region's agencies or purchasers (issue 15), one workflow per kind,
region and year, id `evaluation-run:{kind}:{region}:{period}`, started by its Temporal Schedule
(services/evaluations/schedules.py) on the policy's day.

0. `collect_figures` (since patch `collect-figures`): the watch's on-time rates and the records in
   force fetched into the evaluations service, each figure with its provenance; a watch that is
   down fails the activity, retried until it answers.
1. `draft_evaluations`: the evaluations service scores every subject with figures for the year and
   keeps the results as drafts (subjects lacking a figure are listed, not scored 0).
2. An `evaluation_review` task (child HumanTaskWorkflow) for the region's finance department: the
   officer reads the drafts over HTTP, enters adjustments with their reasons, then decides
   `publish`, or `redraft` (a new round drafted from the latest figures and entries).
3. `publish_evaluations`: the results computed again (so every adjustment counts) are published
   and announced on `credit.notices` (`evaluation.published.v1`), in one transaction.
4. Each purchaser below the policy's threshold gets a `supervision_interview` (约谈) task, a child
   that outlives this run (parent close policy: abandon).
Activities run in the evaluations service (queue `evaluations-activities`)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from services.common.lawdates import local_date
    from services.common.temporal import EVALUATIONS_ACTIVITIES
    from workflows.activity_names import COLLECT_FIGURES, DRAFT_EVALUATIONS, PUBLISH_EVALUATIONS
    from workflows.annual_evaluation.inputs import (
        Collected,
        Drafted,
        DraftedResult,
        DraftRequest,
        EvaluationRunInput,
        EvaluationRunResult,
        PublishRequest,
        interview_task_id,
        review_task_id,
    )
    from workflows.human_task.inputs import TaskOutcome, TaskSpec, task_workflow_id
    from workflows.human_task.workflow import HumanTaskWorkflow

ACTIVITY_TIMEOUT = timedelta(minutes=2)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
COLLECT_TIMEOUT = timedelta(minutes=5)  # the watch's figures of a whole region, then the record counts
COLLECT_PATCH = "collect-figures"  # runs started before the figures were fetched draft from what is stored
MAX_ROUNDS = 10  # a review redrafted more often than this ends cancelled, for a person to look at


@workflow.defn
class AnnualEvaluationWorkflow:
    @workflow.run
    async def run(self, inp: EvaluationRunInput) -> EvaluationRunResult:
        period = inp.period or str(local_date(workflow.now()).year - 1)
        request = DraftRequest(kind=inp.kind, region=inp.region, period=period)
        for round_no in range(1, MAX_ROUNDS + 1):
            if workflow.patched(COLLECT_PATCH):
                await workflow.execute_activity(
                    COLLECT_FIGURES,
                    request,
                    result_type=Collected,
                    task_queue=EVALUATIONS_ACTIVITIES,
                    start_to_close_timeout=COLLECT_TIMEOUT,
                    retry_policy=RETRY,
                )
            drafted: Drafted = await workflow.execute_activity(
                DRAFT_EVALUATIONS,
                request,
                result_type=Drafted,
                task_queue=EVALUATIONS_ACTIVITIES,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
            )
            if not drafted.results and not drafted.missing:
                return EvaluationRunResult(state="nothing_to_evaluate", rounds=round_no)
            task_id = review_task_id(inp.kind, inp.region, period, round_no)
            outcome: TaskOutcome = await workflow.execute_child_workflow(
                HumanTaskWorkflow.run, self._review(inp, period, drafted, task_id), id=task_workflow_id(task_id)
            )
            decision = outcome.decision
            if decision is None:
                return EvaluationRunResult(state="cancelled", rounds=round_no)
            if decision.decision == "redraft":
                continue
            published: Drafted = await workflow.execute_activity(
                PUBLISH_EVALUATIONS,
                PublishRequest(
                    kind=inp.kind,
                    region=inp.region,
                    period=period,
                    task_id=task_id,
                    reviewed_by=decision.decided_by,
                    reviewed_at=decision.decided_at,
                ),
                result_type=Drafted,
                task_queue=EVALUATIONS_ACTIVITIES,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
            )
            interviews = [await self._interview(inp, period, r) for r in published.results if r.interview]
            return EvaluationRunResult(
                state="published", published=published.results, interview_task_ids=interviews, rounds=round_no
            )
        return EvaluationRunResult(state="cancelled", rounds=MAX_ROUNDS)

    def _review(self, inp: EvaluationRunInput, period: str, drafted: Drafted, task_id: str) -> TaskSpec:
        path = "assessment" if inp.kind == "purchaser" else "evaluation"
        plural = "purchasers" if inp.kind == "purchaser" else "agencies"
        return TaskSpec(
            task_id=task_id,
            kind="evaluation_review",
            region=inp.region,
            title=f"{period} {'采购人绩效考核' if inp.kind == 'purchaser' else '代理机构年终评价'} {inp.region}",
            subject={"type": "region", "id": inp.region, "name": inp.region},
            context={
                "policy": drafted.policy,
                "period": period,
                "drafts": [r.model_dump() for r in drafted.results],
                "missing": drafted.missing,
                "links": {
                    r.subject_id: f"/v1/{plural}/{r.subject_id}/{path}?region={inp.region}&period={period}"
                    for r in drafted.results
                },
                "decisions": {
                    "publish": "publish the results as they stand (adjustments entered with their reasons count)",
                    "redraft": "draft again from the latest figures and entries",
                },
            },
            due_working_days=inp.review_due_working_days,
            parent_workflow_id=workflow.info().workflow_id,
        )

    async def _interview(self, inp: EvaluationRunInput, period: str, result: DraftedResult) -> str:
        task_id = interview_task_id(inp.region, period, result.subject_id)
        spec = TaskSpec(
            task_id=task_id,
            kind="supervision_interview",
            region=inp.region,
            title=f"约谈 {result.subject_id}: {period} 绩效考核 {result.total:g} 分（{result.grade}）",
            subject={"type": inp.kind, "id": result.subject_id, "name": result.subject_id},
            context={
                "period": period,
                "total": result.total,
                "grade": result.grade,
                "basis": "000 §三.1 对考核结果较差的采购人，实行约谈等方式予以整改",
                "links": {
                    "assessment": f"/v1/purchasers/{result.subject_id}/assessment?region={inp.region}&period={period}"
                },
            },
            due_working_days=inp.interview_due_working_days,
        )
        await workflow.start_child_workflow(
            HumanTaskWorkflow.run,
            spec,
            id=task_workflow_id(task_id),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        return task_id
