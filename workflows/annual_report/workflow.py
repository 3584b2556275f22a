"""The annual credit report of a region (issue 17): one run per region and year, started by the
region's Temporal Schedule (`annual-report:{region}`, created by the statistics service at start for
every region whose policy sets the clock `annual_report_review`). The statistics service makes the
PDF from its read model (a draft); a supervisor reviews it in a task (`report_review`: `publish` or
`return`); published, it is announced on `credit.notices` (`report.published.v1`) and served over
HTTP. A rejected draft ends the run: a new run (the schedule next year, or one started by hand with
the year) makes a new version."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from services.common.lawdates import local_date
    from services.common.temporal import STATISTICS_ACTIVITIES
    from workflows.activity_names import MAKE_ANNUAL_REPORT, SETTLE_ANNUAL_REPORT
    from workflows.annual_report.inputs import (
        AnnualReportInput,
        ReportDecision,
        ReportDraft,
        ReportRequest,
        ReportResult,
    )
    from workflows.human_task.inputs import TaskOutcome, TaskSpec, task_workflow_id
    from workflows.human_task.workflow import HumanTaskWorkflow

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
# Database down or the service restarting: keep trying, the report is owed.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10))


def report_schedule_id(region: str) -> str:
    return f"annual-report:{region}"


@workflow.defn
class AnnualReportWorkflow:
    @workflow.run
    async def run(self, inp: AnnualReportInput) -> ReportResult:
        due = workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        year = inp.year or local_date(due).year - 1
        draft: ReportDraft = await workflow.execute_activity(
            MAKE_ANNUAL_REPORT,
            ReportRequest(region=inp.region, year=year),
            result_type=ReportDraft,
            task_queue=STATISTICS_ACTIVITIES,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RETRY,
        )
        task_id = f"report:{draft.report_id}"
        outcome: TaskOutcome = await workflow.execute_child_workflow(
            HumanTaskWorkflow.run,
            TaskSpec(
                task_id=task_id,
                kind="report_review",
                region=inp.region,
                title=f"{draft.region_name}{year}年度政府采购信用报告 审核发布",
                subject={"type": "region", "id": inp.region, "name": draft.region_name},
                context={
                    "report_id": draft.report_id,
                    "year": year,
                    "sha256": draft.sha256,
                    "pdf": f"/v1/statistics/reports/{draft.report_id}.pdf",
                },
                due_working_days=inp.review_working_days,
            ),
            id=task_workflow_id(task_id),
        )
        decision = outcome.decision
        return await workflow.execute_activity(
            SETTLE_ANNUAL_REPORT,
            ReportDecision(
                report_id=draft.report_id,
                decision=decision.decision if decision else "return",
                decided_by=decision.decided_by if decision else "",
                reason=(decision.reason if decision else outcome.cancelled_reason) or "",
            ),
            result_type=ReportResult,
            task_queue=STATISTICS_ACTIVITIES,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RETRY,
        )
