"""Inputs and results of the appeal review (Shandong (十): objection, 谁申请、谁举证, prompt correction).
One pydantic model each (STYLE). The appeal service starts `AppealReviewWorkflow` with
`AppealReviewInput` and stores every `AppealChange` the workflow reports (activity
`record_appeal_change` on queue `appeal-activities`)."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

# filed: accepted, its review not started yet; under_review: the record is marked under objection
# and a review task is open; corrected / upheld: decided; closed: ended without a decision.
AppealState = Literal["filed", "under_review", "corrected", "upheld", "closed"]
TERMINAL_STATES = frozenset({"corrected", "upheld", "closed"})
# The fields a correction may change (CONTRACT §2 "correct (with the corrected fields, or none to
# withdraw the record)"; record_inputs.AppealResolution): anything else an officer sends is ignored.
CORRECTABLE_FIELDS = ("behaviour_code", "severity", "determination")


class AppealReviewInput(BaseModel):
    """Everything the review needs, fixed when the appeal is accepted. The durations come from the
    policy of the record's region on the filing day (STYLE: never literals in a workflow)."""

    appeal_id: str
    record_id: str
    region: str
    subject: dict  # {type, id, name}
    applicant: dict  # {type, id, name}
    grounds: str
    evidence: list[dict] = Field(default_factory=list)  # {kind, uri, sha256}: for the reviewer only
    filed_at: datetime
    due_working_days: int
    reminder_working_days_before: int
    escalation_working_days_after: list[int]
    # The law's last day for the review (20 days from receipt, 征信业管理条例 Art. 25): the review
    # task is due on the last working day on or before it, on the calendar installed at the time
    # (TaskSpec.due_by). None in histories before it: the task counts `due_working_days` only.
    review_due_by: date | None = None


class AppealChange(BaseModel):
    """Input of `record_appeal_change`: a new state of the appeal (appeal.changed.v1). `version` 1 is
    the filing, written by the service; the workflow numbers the rest, so a retried activity or a
    replayed workflow finds its change stored already and changes nothing."""

    appeal_id: str
    version: int
    state: AppealState
    task_id: str | None = None
    decision: str | None = None  # correct | uphold
    reason: str | None = None  # the decision's reason: the applicant sees it
    fields: dict = Field(default_factory=dict)
    decided_by: str | None = None
    decided_at: datetime | None = None
    record_version: int | None = None
    record_status: str | None = None
    note: str = ""  # why a round was repeated or the appeal closed, or the evaluation service's note


class AppealDueReplan(BaseModel):
    """Signal `replan_due`: the appeal service counted the review's due date again on a holiday
    arrangement just installed (services/appeal/replanner.py) and stored it on the appeal; the
    workflow announces it (a new version of appeal.changed.v1). Idempotent: the date it announced
    last, or an earlier one, changes nothing."""

    due_on: date
    provisional: bool
    reason: str


class AppealResult(BaseModel):
    appeal_id: str
    state: AppealState
    decision: str | None = None
    record_version: int | None = None
    record_status: str | None = None
    rounds: int = 1


def corrections_of(fields: dict) -> dict:
    """The corrected fields of a `correct` decision; empty withdraws the record."""
    return {k: fields[k] for k in CORRECTABLE_FIELDS if fields.get(k)}


def review_task_id(appeal_id: str, round_no: int) -> str:
    """One task per review round; a round is repeated only when a decision could not be applied."""
    return f"review-{appeal_id}" if round_no == 1 else f"review-{appeal_id}-{round_no}"


def appeal_workflow_id(appeal_id: str) -> str:
    return f"appeal:{appeal_id}"
