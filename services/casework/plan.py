"""When a task is due and when its alarms fire, in working days of the Chinese calendar (pure: the
activity `open_task` calls it once and the plan goes into the workflow's history).

- due: `due_working_days` working days after the day it is opened (the opening day is not counted,
  Civil Code Art. 201), Asia/Shanghai — or, for a deadline the law sets in calendar days (`due_by`),
  the last working day on or before it; the task may be decided through the end of that day;
- reminder: at the start of the working day `reminder_working_days_before` working days before the
  due date (skipped when that moment is already past when the task opens);
- escalation level k: at the first moment the task is late by `escalation_working_days_after[k-1]`
  working days, i.e. 00:00 of the day after that working day; level 1 goes to the supervisor of
  the task's region, level 2 one region up (a county's city, a city's province), and so on."""

from datetime import date, datetime, time, timedelta

from services.common.identifiers import regions_above
from services.common.lawdates import SHANGHAI, local_date, start_of_day
from services.common.workdays import RECKONER, Reckoner, Reckoning
from workflows.human_task.inputs import TaskAlarm, TaskPlan, TaskSpec

# Officers' working day starts at 09:00 in Chinese government offices; a reminder at midnight
# would be read at nine anyway, and this keeps it in the morning's list.
REMINDER_TIME = time(9, 0)


def plan_task(spec: TaskSpec, opened_at: datetime, reckoner: Reckoner = RECKONER) -> TaskPlan:
    """Every date counted through a year without an official arrangement is marked provisional
    (CalendarUnavailable only for a year before the calendar data, 2004)."""
    if spec.due_working_days < 0 or spec.reminder_working_days_before < 0:
        raise ValueError("working-day counts must not be negative")
    opened_on = local_date(opened_at)
    due = due_of(spec, opened_on, reckoner)
    return TaskPlan(
        task_id=spec.task_id,
        opened_on=opened_on,
        due_on=due.day,
        alarms=_alarms(spec, opened_at, due, reckoner),
        due_provisional=due.provisional,
    )


def due_of(spec: TaskSpec, opened_on: date, reckoner: Reckoner = RECKONER) -> Reckoning:
    """`due_working_days` after the opening day; with a legal deadline (`due_by`), the last working
    day on or before it instead: a count fixed on one calendar would pass the law's last day once
    another calendar adds a day off (and fall short of it once one adds a working day). A task
    opened after that day is due on its opening day: late at once, escalated."""
    if spec.due_by is None:
        return reckoner.add_working_days(opened_on, spec.due_working_days)
    last = reckoner.last_working_day_by(spec.due_by)
    return last if last.day >= opened_on else Reckoning(opened_on, last.provisional)


def _alarms(spec: TaskSpec, opened_at: datetime, due: Reckoning, reckoner: Reckoner) -> list[TaskAlarm]:
    alarms: list[TaskAlarm] = []
    reminder = reckoner.previous_working_day(due.day, spec.reminder_working_days_before)
    reminder_at = datetime.combine(reminder.day, REMINDER_TIME, tzinfo=SHANGHAI)
    if reminder_at > opened_at:
        alarms.append(
            TaskAlarm(
                kind="reminder",
                level=0,
                at=reminder_at,
                to_region=spec.region,
                provisional=due.provisional or reminder.provisional,
            )
        )
    chain = regions_above(spec.region)
    for level, after in enumerate(spec.escalation_working_days_after, start=1):
        late = reckoner.add_working_days(due.day, after)
        late_from = start_of_day(late.day + timedelta(days=1))
        to_region = chain[min(level - 1, len(chain) - 1)]
        alarms.append(
            TaskAlarm(
                kind="escalation",
                level=level,
                at=late_from,
                to_region=to_region,
                provisional=due.provisional or late.provisional,
            )
        )
    return alarms


def replan_task(spec: TaskSpec, old: TaskPlan, fired_levels: list[int], reckoner: Reckoner = RECKONER) -> TaskPlan:
    """The plan counted again on the calendar as it is now (a year's arrangement was installed).
    A date already shown never moves earlier: the due date is the later of the old and the new
    one, each alarm not fired yet the later of its old and new moment (an alarm fired stays as
    it was), and an alarm left out when the task opened (a reminder already past) stays out. A
    date kept because the new count is earlier is no longer provisional when the new count is not:
    the official calendar now stands behind it, and the rule fixes it."""
    opened_at = start_of_day(old.opened_on)
    counted = due_of(spec, old.opened_on, reckoner)
    due = Reckoning(max(counted.day, old.due_on), counted.provisional)
    new = {a.level: a for a in _alarms(spec, opened_at, due, reckoner)}
    alarms = []
    for alarm in old.alarms:
        if alarm.level in fired_levels or alarm.level not in new:
            alarms.append(alarm)
            continue
        moved = new[alarm.level]
        alarms.append(moved.model_copy(update={"at": max(moved.at, alarm.at)}))
    return old.model_copy(update={"due_on": due.day, "due_provisional": due.provisional, "alarms": alarms})
