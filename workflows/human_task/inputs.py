"""The one task model of every human step (issue 5): what a workflow asks of a case officer, the
plan of its due date, reminders and escalations, and the decision that comes back. One pydantic
model each (STYLE). `HumanTaskWorkflow` (workflows/human_task/workflow.py) runs a task; the parent workflow
(determination, repair review, appeal review, failed push) starts it as a child and gets a
`TaskOutcome`. The casework service owns the task rows and runs the activities named here."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

TaskKind = Literal[
    "determination",
    "repair_review",
    "appeal_review",
    "push_failure",
    "listing_confirmation",
    "deadline_overdue",
    "interception",
    "collusion_triage",
    "evaluation_review",
    "supervision_interview",
    "report_review",
]
# CONTRACT §2, by task kind; `acknowledge` closes a failed-push task once the platform is fixed.
DECISIONS: dict[str, tuple[str, ...]] = {
    "determination": ("determine", "record_general", "dismiss"),
    "repair_review": ("approve", "reject"),
    "appeal_review": ("correct", "uphold"),
    "push_failure": ("retry", "acknowledge"),
    # Issue 16 point 5 (国办发〔2020〕49号 (八)): a serious determination lists only once confirmed.
    "listing_confirmation": ("confirm", "withdraw"),
    # Issue 13: a procurement deadline passed (the watch's clock); a report goes through the intake.
    "deadline_overdue": ("remind", "report_behaviour", "dismiss"),
    # Issue 13: a supplier that may not take part, or deposits where the region forbids them.
    "interception": ("report_behaviour", "dismiss"),
    # Issue 14: suspected collusion (Luoyang Art. 10); `refer` asks for SUP-S-08 determinations.
    "collusion_triage": ("refer", "dismiss"),
    # Issue 15: the officer reviews a year's drafted results (adjustments entered with their reasons
    # over HTTP first), then publishes them or has them drafted again from the latest figures.
    "evaluation_review": ("publish", "redraft"),
    # Issue 15 (000 §三.1 约谈): a purchaser below the policy's threshold is interviewed.
    "supervision_interview": ("interviewed", "dismiss"),
    # Issue 17: a region's annual credit report, reviewed before it is published.
    "report_review": ("publish", "return"),
}
AlarmKind = Literal["reminder", "escalation"]


class TaskSpec(BaseModel):
    """Input of HumanTaskWorkflow and of activity `open_task`. Durations in working days come from
    the regional policy and travel with the input (STYLE)."""

    task_id: str
    kind: TaskKind
    region: str  # the finance department in charge (6-digit division code)
    title: str
    subject: dict  # {type, id, name}
    record_id: str | None = None
    # What the officer needs to decide (the report, the application, the push); evidence links are
    # shown to finance only, and tasks are visible to finance only.
    context: dict = Field(default_factory=dict)
    due_working_days: int
    # A deadline the law sets in calendar days, the last day it allows (e.g. an objection's review,
    # 20 days from receipt, 征信业管理条例 Art. 25): when set, the task is due on the last working day
    # on or before it, counted again on every re-plan (`due_working_days` is then what that came to
    # when the task was specified). None in histories before it.
    due_by: date | None = None
    reminder_working_days_before: int = 1
    escalation_working_days_after: list[int] = Field(default_factory=lambda: [0, 3])
    # Officers (token `sub`) who may not claim or decide it, e.g. whoever recorded the appealed record.
    excluded_officers: list[str] = Field(default_factory=list)
    priority: int = 50  # 0 highest
    parent_workflow_id: str | None = None


class TaskAlarm(BaseModel):
    kind: AlarmKind
    level: int  # 0 reminder; 1 supervisor of the task's region; 2 one region up; ...
    at: datetime  # aware, Asia/Shanghai wall time of the working day it belongs to
    to_region: str
    # Counted through a year without an official holiday arrangement (services/common/workdays.py):
    # a real moment, re-planned when the arrangement is installed. False in histories before it.
    provisional: bool = False


class TaskPlan(BaseModel):
    """Result of `open_task`: when the task was opened and what fires when (from the calendar)."""

    task_id: str
    opened_on: date
    due_on: date  # the last day to decide
    alarms: list[TaskAlarm]
    due_provisional: bool = False  # due_on counted through a provisional year


class TaskAlarmFired(BaseModel):
    """Input of activity `escalate_task`: a reminder or an escalation fired (task.escalated.v1)."""

    task_id: str
    alarm: TaskAlarm


class TaskDecision(BaseModel):
    """Signal `decide`, sent by the casework service once it has stored the decision."""

    task_id: str
    decision: str
    reason: str
    # What the decision needs (CONTRACT §2): `determination`, `behaviour_code`, corrected fields, ...
    fields: dict = Field(default_factory=dict)
    decided_by: str  # token sub of the officer
    decided_by_org: str  # its division code
    decided_at: datetime


class TaskCancel(BaseModel):
    """Signal `cancel`: the task has nothing left to decide (e.g. its record was corrected)."""

    reason: str


class TaskReplan(BaseModel):
    """Signal `replan`: a year's holiday arrangement was installed; count the plan again."""

    year: int
    reason: str


class TaskReplanRequest(BaseModel):
    """Input of activity `replan_task`: the task, its plan as the workflow holds it, the alarms
    already fired (never moved) and why."""

    spec: TaskSpec
    plan: TaskPlan
    fired_levels: list[int]
    reason: str


class TaskClosed(BaseModel):
    """Input of activity `cancel_task`."""

    task_id: str
    reason: str


class TaskOutcome(BaseModel):
    task_id: str
    decision: TaskDecision | None = None  # None when cancelled
    cancelled_reason: str | None = None


def task_workflow_id(task_id: str) -> str:
    return f"task:{task_id}"
