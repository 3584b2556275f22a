"""The yearly runs' Schedules follow the policies: one per (kind, region) a policy asks for, firing
on the policy's month, day and hour in Asia/Shanghai, with the policy's task due days."""

from temporalio.client import ScheduleActionStartWorkflow

from services.evaluations.policy import assessment_policy_for, covered_regions
from services.evaluations.schedules import run_schedule, schedule_id
from workflows.annual_evaluation.inputs import EvaluationRunInput


def test_one_schedule_per_policy_region() -> None:
    assert covered_regions() == [("purchaser", "210100"), ("agency", "411000")]
    assert schedule_id("purchaser", "210100") == "evaluation-run:purchaser:210100"


def test_the_schedule_fires_on_the_policy_day_for_the_year_before() -> None:
    rules = assessment_policy_for("210100").run
    schedule = run_schedule("purchaser", "210100")
    (calendar,) = schedule.spec.calendars
    assert [r.start for r in calendar.month] == [rules.month.value]
    assert [r.start for r in calendar.day_of_month] == [rules.day.value]
    assert [r.start for r in calendar.hour] == [rules.hour.value]
    assert schedule.spec.time_zone_name == "Asia/Shanghai"
    assert isinstance(schedule.action, ScheduleActionStartWorkflow)
    (inp,) = schedule.action.args
    assert isinstance(inp, EvaluationRunInput)
    assert inp.period is None  # the workflow takes the year before the one it starts in
    assert inp.review_due_working_days == rules.review_due_working_days.value
