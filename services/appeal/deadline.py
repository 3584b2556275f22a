"""When an appeal's review is due, computed once here for both the review workflow's input and
what the appellant is told (the filing answer, `GET /v1/appeals/{id}`, appeal.changed.v1).

The policy's clock (Luoyang: 20 calendar days from receipt, 征信业管理条例 Art. 25) becomes the
working days that fall before the legal deadline, i.e. the last working day on or before it; the
review task carries that deadline (`due_by`) and is due on the same day (services/casework/plan.py,
with the same arrangements), counted again there when a year's arrangement is installed.
`provisional` is True when a year without an official arrangement was counted through: the date
may move later (never earlier) once the State Council's arrangement is installed. The date told at
filing is stored on the appeal (`columns`) and counted again by replanner.py (`recounted`)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.common.lawdates import local_date
from services.common.policy import Clock, policy_for
from services.common.workdays import RECKONER, working_days_within


@dataclass(frozen=True)
class ReviewDue:
    working_days: int  # after the filing day, which is not counted (Civil Code Art. 201)
    due_on: date  # Asia/Shanghai; the review may be decided through the end of that day
    provisional: bool
    # The law's last day for a clock in calendar days (the review task is due on the last working
    # day on or before it, on whatever calendar is installed then); None for a working-day clock.
    due_by: date | None = None

    def columns(self) -> dict:
        """As stored on the appeal (models.Appeal.review_*)."""
        return {
            "review_due_on": self.due_on,
            "review_working_days": self.working_days,
            "review_due_provisional": self.provisional,
        }

    def as_data(self) -> dict:
        return {
            "review_due_on": self.due_on.isoformat(),
            "review_working_days": self.working_days,
            "review_due_provisional": self.provisional,
        }


def review_due(region: str, filed_at: datetime) -> ReviewDue:
    filed_on = local_date(filed_at)
    clock = policy_for(region, filed_on).clocks["appeal_review"]
    days, provisional = review_working_days(clock, filed_on)
    due = RECKONER.add_working_days(filed_on, days)
    due_by = filed_on + timedelta(days=clock.value) if clock.unit == "calendar_days" else None
    return ReviewDue(working_days=days, due_on=due.day, provisional=provisional or due.provisional, due_by=due_by)


def review_working_days(clock: Clock, filed_on: date) -> tuple[int, bool]:
    if clock.unit == "working_days":
        return clock.value, False
    if clock.unit != "calendar_days":
        raise ValueError(f"an objection review clock in {clock.unit} is not supported")
    days, provisional = working_days_within(filed_on, clock.value)
    return max(days, 1), provisional


def shown_due(appeal: dict) -> ReviewDue:
    """What the appellant is told: the date stored on the appeal (at filing, then by the re-planner);
    counted on read for an appeal filed before it was stored."""
    if appeal.get("review_due_on") is None:
        return review_due(appeal["region"], appeal["filed_at"])
    return ReviewDue(
        working_days=appeal["review_working_days"],
        due_on=appeal["review_due_on"],
        provisional=bool(appeal["review_due_provisional"]),
    )


def recounted(appeal: dict) -> ReviewDue:
    """The review's due date counted again on the calendar as it is now (a year's arrangement was
    installed), never earlier than the date stored: where the new count is earlier, the stored date
    stays — still on or before the law's last day, since both are — on the new count's footing
    (the official calendar now stands behind it), as casework's re-plan keeps a task's date."""
    new = review_due(appeal["region"], appeal["filed_at"])
    stored = appeal.get("review_due_on")
    if stored is None or new.due_on >= stored:
        return new
    filed_on = local_date(appeal["filed_at"])
    days = max(RECKONER.working_days_between(filed_on, stored), 1)
    return ReviewDue(working_days=days, due_on=stored, provisional=new.provisional, due_by=new.due_by)
