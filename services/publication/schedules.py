"""The Temporal Schedule of each region's periodic notice (001 Art. 21), created or brought up to
date when the publication service starts: one per region that has a policy of its own, firing on
the policy's `notice_day_of_month` at `notice_hour`, Asia/Shanghai, every month (`monthly`) or in
the first month of each quarter (`quarterly`)."""

from datetime import date
from typing import cast

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
from workflows.notices.inputs import Cadence, NoticePeriodInput
from workflows.notices.workflow import PeriodicNoticeWorkflow, notice_schedule_id

MONTHS = {"monthly": [ScheduleRange(1, 12)], "quarterly": [ScheduleRange(m) for m in (1, 4, 7, 10)]}


def notice_schedule(region: str, today: date) -> Schedule:
    policy = policy_for(region, today)
    rules = policy.publication
    if policy.notice_cadence not in MONTHS:
        raise ValueError(f"notice_cadence {policy.notice_cadence!r} of {region} is not one of {sorted(MONTHS)}")
    calendar = ScheduleCalendarSpec(
        second=[ScheduleRange(0)],
        minute=[ScheduleRange(0)],
        hour=[ScheduleRange(rules.notice_hour)],
        day_of_month=[ScheduleRange(rules.notice_day_of_month)],
        month=MONTHS[policy.notice_cadence],
        comment=f"{policy.notice_cadence} notice of {region}",
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PeriodicNoticeWorkflow.run,
            # notice_cadence is one of MONTHS, checked above: a Cadence.
            NoticePeriodInput(region=region, cadence=cast(Cadence, policy.notice_cadence)),
            id=f"notice:{region}",
            task_queue=WORKFLOW_QUEUE,
        ),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name=str(SHANGHAI)),
    )


async def ensure_notice_schedules(client: Client, today: date) -> list[str]:
    """Create each region's schedule, or replace the spec and action of the existing one (the policy
    may have changed); its state and history stay. Returns the schedule ids."""
    ids = []
    for region in sorted(load_policies()):
        schedule = notice_schedule(region, today)
        schedule_id = notice_schedule_id(region)
        await upsert_schedule(client, schedule_id, schedule)
        ids.append(schedule_id)
    return ids
