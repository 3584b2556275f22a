"""Inputs and results of the publication workflows and of their activities on queue
`publication-activities` (the publication service): periodic notices and pushes to the national
platforms. One pydantic model each (STYLE)."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Cadence = Literal["monthly", "quarterly"]
PushState = Literal["pending", "failing", "escalated", "delivered", "acknowledged", "not_configured"]


class NoticePeriodInput(BaseModel):
    """Input of PeriodicNoticeWorkflow, set by the region's Schedule (policy `notice_cadence`)."""

    region: str
    cadence: Cadence
    # The notice of the period before this day; None: the period before the scheduled time.
    period_before: date | None = None


class NoticeRequest(BaseModel):
    """Input of activity `publish_period_notice`: idempotent on (region, period_start)."""

    region: str
    cadence: Cadence
    period_start: date
    period_end: date


class NoticeResult(BaseModel):
    notice_id: str
    entries: int
    withdrawals: int
    created: bool  # False: the notice of this period had been published already


class PushInput(BaseModel):
    """Input of PushWorkflow: one publication or withdrawal to one platform. Durations and task
    rules come from the regional policy with the input (STYLE)."""

    idempotency_key: str
    platform: str
    action: str  # publish | withdraw
    region: str
    notice_id: str
    record_id: str | None = None
    subject: dict
    escalation_seconds: int  # policy publication.push_escalation_hours, or the settings' override
    task_due_working_days: int
    reminder_working_days_before: int = 1
    escalation_working_days_after: list[int] = Field(default_factory=lambda: [0, 3])


class PushRef(BaseModel):
    """Input of activity `deliver_push`."""

    idempotency_key: str


class PushEscalated(BaseModel):
    """Input of activity `escalate_push`: the push failed for `escalation_seconds`; a task is opened."""

    idempotency_key: str
    task_id: str


class PushStatus(BaseModel):
    """Result of `deliver_push` and `escalate_push`: the delivery state as stored."""

    idempotency_key: str
    state: PushState
    attempts: int
    last_error: str | None = None


class PushSettled(BaseModel):
    """Input of activity `settle_push`: a case officer closed the push (decision `acknowledge`)."""

    idempotency_key: str
    state: PushState
    note: str = ""


class PushResult(BaseModel):
    state: PushState
    rounds: int  # rounds of attempts; each round that failed for escalation_seconds opened a task
