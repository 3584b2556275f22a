"""Inputs and results of PushWorkflow and of its activities on queue `publication-activities` (the
publication service): pushes to the national platforms. One pydantic model each (STYLE)."""

from typing import Literal

from pydantic import BaseModel, Field

PushState = Literal["pending", "failing", "escalated", "delivered", "acknowledged", "not_configured"]


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
