"""The Temporal Schedule of each region's annual report (issue 17), created or brought up to date
when the statistics service starts: one per region with a policy of its own that sets the clock
`annual_report_review` (the supervisor's review time, a value the department sets — no default:
a region without it gets no schedule, and the service logs so). It fires on 15 January at 09:00,
Asia/Shanghai, for the year before (an operational choice, not a number of the law: the December
figures are in by then)."""

from datetime import date

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
)

from services.common.lawdates import SHANGHAI
from services.common.policy import load_policies, policy_for
from services.common.schedules import upsert_schedule
from services.common.temporal import WORKFLOW_QUEUE
from workflows.annual_report.inputs import AnnualReportInput
from workflows.annual_report.workflow import AnnualReportWorkflow, report_schedule_id

log = structlog.get_logger(__name__)
REVIEW_CLOCK = "annual_report_review"
MONTH, DAY, HOUR = 1, 15, 9


def report_schedule(region: str, today: date) -> Schedule | None:
    clock = policy_for(region, today).clocks.get(REVIEW_CLOCK)
    if clock is None or clock.unit != "working_days":
        return None
    calendar = ScheduleCalendarSpec(
        second=[ScheduleRange(0)],
        minute=[ScheduleRange(0)],
        hour=[ScheduleRange(HOUR)],
        day_of_month=[ScheduleRange(DAY)],
        month=[ScheduleRange(MONTH)],
        comment=f"annual credit report of {region}",
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            AnnualReportWorkflow.run,
            AnnualReportInput(region=region, review_working_days=clock.value),
            id=f"annual-report:{region}",
            task_queue=WORKFLOW_QUEUE,
        ),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name=str(SHANGHAI)),
    )


async def ensure_report_schedules(client: Client, today: date) -> list[str]:
    """Create each region's schedule or replace its spec and action (its state stays)."""
    ids = []
    for region in sorted(load_policies()):
        schedule = report_schedule(region, today)
        if schedule is None:
            log.warning("no annual report schedule: the policy sets no clock", region=region, clock=REVIEW_CLOCK)
            continue
        schedule_id = report_schedule_id(region)
        await upsert_schedule(client, schedule_id, schedule)
        ids.append(schedule_id)
    return ids
