"""Inputs and result of DeterminationWorkflow (CONTRACT §4): a serious behaviour reported by a
purchaser or an agency waits for the finance department of its region, whose case officer
determines it, records a general behaviour instead, or dismisses it."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from workflows.record_inputs import RecordChangeResult


class DeterminationRequest(BaseModel):
    """`data` of `determination.requested.v1` (evaluation -> casework on credit.tasks). Evidence
    stays in the evaluation service: only its count travels."""

    request_id: str = Field(min_length=1, max_length=100)  # also the task id
    region: str = Field(min_length=6, max_length=6)
    subject: dict  # {type, id, name}
    behaviour_code: str
    behaviour: dict = Field(default_factory=dict)  # {code, severity, text, legal_basis}
    reporter: dict = Field(default_factory=dict)
    project: dict = Field(default_factory=dict)
    occurred_on: date
    evidence_count: int = 0
    reported_at: datetime


class DeterminationInput(BaseModel):
    """Durations come from the regional policy in force when the report arrived (STYLE)."""

    request: DeterminationRequest
    due_working_days: int
    reminder_working_days_before: int = 1
    escalation_working_days_after: list[int] = Field(default_factory=lambda: [0, 3])
    # Issue 16 point 5: calendar days the subject has to state its case after the notice of an
    # intended serious determination (policy clocks["statement_window"], a policy value); None: the
    # department set none, and the listing waits for the officer's confirm.
    statement_window_days: int | None = None


class DeterminationResult(BaseModel):
    request_id: str
    decision: str | None = None  # None when the task was cancelled; `withdraw`: determined, not listed
    cancelled_reason: str | None = None
    change: RecordChangeResult | None = None


def determination_workflow_id(request_id: str) -> str:
    return f"determination:{request_id}"
