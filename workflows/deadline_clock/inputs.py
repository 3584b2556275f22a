"""Inputs and results of the deadline clock (workflows/deadline_clock/workflow.py) and of the watch service's
activities it calls (queue `watch-activities`). One pydantic model each (STYLE). Moments are
computed from the working-day calendar by the watch service when it starts the clock, so the
workflow only waits for them (deterministic, and a later calendar release cannot change a
running clock's history)."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Level = Literal["due_soon", "overdue", "escalated"]


class ClockInput(BaseModel):
    clock_id: str  # region:code:stage:contract_no
    region: str
    project: dict  # {code, name}
    stage: str
    due_on: date  # the last day of the deadline (Asia/Shanghai)
    # Start of the working day before `due_on` (None when that day is before the clock started);
    # `overdue_at` the start of the day after `due_on`.
    due_soon_at: datetime | None
    overdue_at: datetime
    provisional: bool  # counted through a year without an official holiday arrangement
    responsible: dict  # {type, id, name}: who is warned
    rule: dict  # {value, unit, source}
    # The deadline_overdue task: its due date and alarms (policy values of the region).
    task_due_working_days: int
    reminder_working_days_before: int = 1
    escalation_working_days_after: list[int] = Field(default_factory=lambda: [0, 3])
    notify_attempts: int = 5  # CREDIT_NOTIFY_ATTEMPTS of the watch service when it started the clock


class ClockReplan(BaseModel):
    """Signal `replan` (and the plan a clock waits on): the deadline counted again, e.g. when the
    official holiday arrangement of a year it was counted through on a provisional calendar is
    installed. A clock past its overdue moment keeps its course (the task is with the department)."""

    due_on: date
    due_soon_at: datetime | None
    overdue_at: datetime
    provisional: bool
    reason: str = ""


class ClockStop(BaseModel):
    """Signal `stop`: the completing fact arrived (its own time `at`)."""

    done_at: datetime
    fact: str  # source|id


class WarningRaised(BaseModel):
    """Input of activity `raise_warning`: store the warning, publish deadline.warning.v1, notify."""

    clock_id: str
    level: Level
    task_id: str | None = None
    reminder: bool = False  # a `remind` decision: another notice, no new level


class OverdueDecided(BaseModel):
    """Input of activities `report_overdue_behaviour` and `settle_clock`."""

    clock_id: str
    task_id: str
    decision: str  # remind | report_behaviour | dismiss
    reason: str
    fields: dict = Field(default_factory=dict)
    decided_by: str
    decided_by_org: str


class ClockResult(BaseModel):
    clock_id: str
    outcome: Literal["in_time", "late", "overdue_decided"]
    levels: list[Level] = Field(default_factory=list)
    decision: str | None = None


def clock_workflow_id(clock_id: str) -> str:
    return f"clock:{clock_id}"


class InterceptionInput(BaseModel):
    """Input of InterceptionWorkflow (issue 13, 004 #8 自动拦截): a supplier that may not take part at
    the award or the contract, or deposits collected where the region forbids them."""

    interception_id: str  # region:code:rule:subject id
    region: str
    project: dict  # {code, name}
    rule: Literal["supplier_barred", "deposit_forbidden"]
    subject: dict  # {type, id, name}
    detail: str
    basis: str  # what says so: /v1/credit's answer, or the region's rule with its source
    at: datetime  # the fact's own time
    task_due_working_days: int
    reminder_working_days_before: int = 1
    escalation_working_days_after: list[int] = Field(default_factory=lambda: [0, 3])


class InterceptionDecided(BaseModel):
    """Input of activity `report_intercepted_behaviour`: the officer's `report_behaviour`."""

    interception_id: str
    task_id: str
    region: str
    project: dict
    subject: dict
    occurred_on: date
    behaviour_code: str
    reason: str
    decided_by_org: str


def interception_workflow_id(interception_id: str) -> str:
    return f"interception:{interception_id}"
