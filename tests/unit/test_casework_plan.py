"""Due dates, reminders and escalations of a task in working days of the real 2026 arrangement
(chinese-calendar): Mid-Autumn 09-25..27, National Day 10-01..07, Saturday 10-10 a working day
(调休). A year without data is an error, never a guess."""

from datetime import date, datetime, time

import pytest

from services.casework.plan import plan_task, replan_task
from services.common.lawdates import SHANGHAI
from services.common.workdays import CalendarUnavailable, Reckoner
from tests.support.calendars import fixture_arrangement
from workflows.human_task.inputs import TaskSpec


def spec(days: int, *, region: str = "410322", before: int = 1, after: list[int] | None = None) -> TaskSpec:
    return TaskSpec(
        task_id="t-1",
        kind="determination",
        region=region,
        title="t",
        subject={"type": "supplier", "id": "x", "name": "n"},
        due_working_days=days,
        reminder_working_days_before=before,
        escalation_working_days_after=[0, 3] if after is None else after,
    )


def at(d: date, hour: int = 0) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=SHANGHAI)


def test_ten_working_days_from_the_mid_autumn_holiday_across_national_day() -> None:
    # Opened on the Mid-Autumn holiday (Fri 09-25): 09-28, 29, 30, [10-01..07 off], 10-08, 09,
    # 10 (Saturday, a working day by 调休), [Sun 11 off], 12, 13, 14, 15 -> due Thursday 10-15.
    plan = plan_task(spec(10), at(date(2026, 9, 25), 10))
    assert (plan.opened_on, plan.due_on) == (date(2026, 9, 25), date(2026, 10, 15))
    reminder, level1, level2 = plan.alarms
    assert (reminder.kind, reminder.level, reminder.at) == ("reminder", 0, at(date(2026, 10, 14), 9))
    # Level 1 the moment the task is late (00:00 after its last day), to the task's own region.
    assert (level1.kind, level1.level, level1.at, level1.to_region) == (
        "escalation",
        1,
        at(date(2026, 10, 16)),
        "410322",
    )
    # Level 2 three working days after the due date (10-16, 19, 20), one region up: the city.
    assert (level2.level, level2.at, level2.to_region) == (2, at(date(2026, 10, 21)), "410300")


def test_a_saturday_made_a_working_day_can_be_the_due_date() -> None:
    # 09-30 + 3 working days: 10-08, 10-09, 10-10 (Saturday, 调休).
    plan = plan_task(spec(3), at(date(2026, 9, 30), 15))
    assert plan.due_on == date(2026, 10, 10)
    assert plan.alarms[0].at == at(date(2026, 10, 9), 9)  # reminder on the working day before
    assert plan.alarms[1].at == at(date(2026, 10, 11))  # late from Sunday 00:00


def test_reminder_before_the_holiday_when_due_right_after_it() -> None:
    # Due 10-08 (first working day after the week off): reminded on 09-30, the working day before.
    plan = plan_task(spec(1), at(date(2026, 9, 30), 8))
    assert plan.due_on == date(2026, 10, 8)
    assert plan.alarms[0].at == at(date(2026, 9, 30), 9)


def test_a_reminder_already_past_when_opened_is_left_out() -> None:
    plan = plan_task(spec(1), at(date(2026, 9, 30), 10))  # its reminder would be 09-30 09:00
    assert [a.kind for a in plan.alarms] == ["escalation", "escalation"]


def test_escalation_of_a_city_task_goes_to_the_province_and_stays_there() -> None:
    plan = plan_task(spec(2, region="410300", after=[0, 2, 5]), at(date(2026, 9, 21), 9))
    assert [a.to_region for a in plan.alarms if a.kind == "escalation"] == ["410300", "410000", "410000"]


def test_a_year_without_holiday_data_is_planned_provisionally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)
    # Appeal review filed 2026-12-08 (the first day the pinned library could not open it): 15
    # working days run into 2027, 01-01 off by law (provisional calendar).
    plan = plan_task(spec(15), at(date(2026, 12, 8), 10))
    assert plan.due_on == date(2026, 12, 29) and not plan.due_provisional
    assert [a.provisional for a in plan.alarms] == [False, False, True]  # reminder, level 1, level 2 (+3)
    plan = plan_task(spec(10), at(date(2026, 12, 24), 10))  # ten working days run into January 2027
    assert plan.due_on == date(2027, 1, 8) and plan.due_provisional
    assert all(a.provisional for a in plan.alarms)


def test_a_year_before_the_calendar_data_still_fails_loudly() -> None:
    with pytest.raises(CalendarUnavailable, match="2003"):
        plan_task(spec(10), at(date(2003, 12, 24), 10))


def legal(days: int, due_by: date) -> TaskSpec:
    return spec(days).model_copy(update={"kind": "appeal_review", "due_by": due_by})


def test_a_legal_deadline_in_calendar_days_is_due_on_the_last_working_day_by_it() -> None:
    # Opened Mon 09-21, the law's last day Sunday 10-04 (National Day): 09-25..27 and 10-01..07 off,
    # so the last working day by it is Wednesday 09-30, whatever the working-day count says.
    plan = plan_task(legal(20, date(2026, 10, 4)), at(date(2026, 9, 21), 10))
    assert plan.due_on == date(2026, 9, 30)
    # A task opened after the law's last day (its start was held up) is due at once.
    late = plan_task(legal(5, date(2026, 10, 4)), at(date(2026, 10, 9), 10))
    assert late.due_on == date(2026, 10, 9)


def test_a_legal_deadline_is_counted_again_on_replan_never_past_it_never_earlier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An objection filed Sunday 2026-12-20: 20 days end Saturday 2027-01-09; 2027 provisional. The
    arrangements are TEST FIXTURES, NOT OFFICIAL DATA."""
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)
    reckoner, opened = Reckoner(), at(date(2026, 12, 20), 10)
    task = legal(14, date(2027, 1, 9))
    plan = plan_task(task, opened, reckoner)
    assert (plan.due_on, plan.due_provisional) == (date(2027, 1, 8), True)
    # Monday 01-04 made a day off: 14 working days would end 01-11, past the law; the due date
    # stays the last working day by 01-09, now on the official footing.
    reckoner.install(fixture_arrangement(1, off={date(2027, 1, 4)}))
    kept = replan_task(task, plan, [], reckoner)
    assert (kept.due_on, kept.due_provisional) == (date(2027, 1, 8), False)
    assert replan_task(spec(14), plan, [], reckoner).due_on == date(2027, 1, 11)  # without due_by
    # A later version makes Saturday 01-09 itself a working day (调休): due that day.
    reckoner.install(fixture_arrangement(2, work={date(2027, 1, 9)}))
    moved = replan_task(task, kept, [], reckoner)
    assert (moved.due_on, moved.due_provisional) == (date(2027, 1, 9), False)
    assert moved.alarms[1].at == at(date(2027, 1, 10))  # late from the day after
