"""The Temporal Schedules of the yearly runs (issue 15), created or brought up to date when the
evaluations service starts: Shenyang's purchaser assessment (210100) and Xuchang's agency evaluation
(411000), each firing once a year on its policy's month, day and hour, Asia/Shanghai. The run
evaluates the year before the one it starts in."""

import dataclasses

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from services.common.lawdates import SHANGHAI
from services.common.temporal import WORKFLOW_QUEUE
from services.evaluations.policy import RunRules, assessment_policy_for, covered_regions, supervision_policy_for
from workflows.annual_evaluation.inputs import EvaluatedKind, EvaluationRunInput
from workflows.annual_evaluation.workflow import AnnualEvaluationWorkflow


def schedule_id(kind: str, region: str) -> str:
    return f"evaluation-run:{kind}:{region}"


def run_schedule(kind: EvaluatedKind, region: str) -> Schedule:
    rules: RunRules = (assessment_policy_for(region) if kind == "purchaser" else supervision_policy_for(region)).run
    calendar = ScheduleCalendarSpec(
        second=[ScheduleRange(0)],
        minute=[ScheduleRange(0)],
        hour=[ScheduleRange(int(rules.hour.value))],
        day_of_month=[ScheduleRange(int(rules.day.value))],
        month=[ScheduleRange(int(rules.month.value))],
        comment=f"yearly {kind} evaluation of {region}",
    )
    inp = EvaluationRunInput(
        kind=kind,
        region=region,
        review_due_working_days=int(rules.review_due_working_days.value),
        interview_due_working_days=int(rules.interview_due_working_days.value),
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            AnnualEvaluationWorkflow.run, inp, id=schedule_id(kind, region), task_queue=WORKFLOW_QUEUE
        ),
        spec=ScheduleSpec(calendars=[calendar], time_zone_name=str(SHANGHAI)),
    )


async def ensure_run_schedules(client: Client) -> list[str]:
    """Create each schedule, or replace the spec and action of the existing one (its state stays)."""
    ids = []
    for kind, region in covered_regions():
        schedule = run_schedule(kind, region)
        sid = schedule_id(kind, region)
        try:
            await client.create_schedule(sid, schedule)
        except ScheduleAlreadyRunningError:

            def replace(current: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                kept = dataclasses.replace(current.description.schedule, spec=schedule.spec, action=schedule.action)
                return ScheduleUpdate(schedule=kept)

            await client.get_schedule_handle(sid).update(replace)
        ids.append(sid)
    return ids
