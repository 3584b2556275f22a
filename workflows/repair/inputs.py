"""Input, signals, activity inputs and query result of RecordRepairWorkflow (001 Art. 20, 002 (十一)):
one pydantic model each (STYLE). The rules they serve are in workflows/repair/rules.py and
workflows/repair/workflow.py."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

WindowState = Literal["waiting", "open", "closed"]
# submitted (stored by the service) -> under_review (a task is open) -> approved | rejected, or
# refused (the workflow's own check said no), expired (the record expired first), cancelled (the
# record was corrected, withdrawn or repaired otherwise meanwhile).
ApplicationState = Literal["submitted", "under_review", "approved", "rejected", "refused", "expired", "cancelled"]
OPEN_STATES = frozenset({"submitted", "under_review"})


class RepairTerms(BaseModel):
    """The regional policy's repair and task values in force on the record date (STYLE: durations
    travel with the input, so a running workflow never reads a policy that changed later)."""

    policy_version: str
    general_wait_months: int
    serious_repairable: bool
    serious_min_months: int | None = None
    review_working_days: int
    reminder_working_days_before: int
    escalation_working_days_after: list[int]
    # 001 Art. 20 "记录半年后": the window opens the day after the wait ends (Civil Code Art. 201-202:
    # the wait ends on the corresponding day). Absent (False) in the inputs of workflows started
    # before this rule, which keep opening on the corresponding day, so their replay is unchanged.
    opens_day_after_wait: bool = False


class RepairRecord(BaseModel):
    """What the workflow knows of its record; a newer version replaces it (signal `record_changed`)."""

    record_id: str
    version: int
    status: str  # in_force | expired | repaired | withdrawn | corrected
    severity: str
    behaviour_code: str
    subject: dict  # {type, id, name}
    region: str
    recorded_on: date
    valid_until: date


class RepairInput(BaseModel):
    record: RepairRecord
    terms: RepairTerms


# --- Signals ---------------------------------------------------------------------------------------


class RepairApplication(BaseModel):
    """Signal `apply`: an application the service has stored (state submitted) and pre-checked."""

    application_id: str
    record_id: str
    applicant: dict  # {type, id, name}
    commitment: str
    evidence: list[dict] = Field(default_factory=list)
    submitted_at: datetime


class RecordChange(BaseModel):
    """Signal `record_changed`: a newer version of the record (corrected, expired, repaired,
    withdrawn). The same or a lower version again changes nothing."""

    record: RepairRecord
    change: str  # the record event's short type, e.g. "record.corrected.v1"


# --- Activity inputs -------------------------------------------------------------------------------


class WindowChanged(BaseModel):
    """Input of activity `publish_repair_window`: the status row, and `repair.opened.v1` when it opens."""

    record: RepairRecord
    state: WindowState
    policy_version: str
    opens_on: date | None = None
    closes_at: datetime | None = None
    reason: str = ""  # why it closed: repaired, record_expired, record_withdrawn, not_repairable, ...


class ApplicationChanged(BaseModel):
    """Input of activity `change_application`: the application's row and `repair.changed.v1`."""

    application_id: str
    record_id: str
    state: ApplicationState
    code: str | None = None  # stable reason code of a refusal, expiry or cancellation
    reason: str = ""
    opinion: str = ""
    task_id: str | None = None
    decided_by: str | None = None
    earliest: date | None = None  # for too_early: the first day an application is accepted
    at: datetime


# --- Query and result ------------------------------------------------------------------------------


class RepairStatus(BaseModel):
    state: WindowState
    record_version: int
    opens_on: date | None = None
    closes_at: datetime | None = None
    reason: str = ""
    application_id: str | None = None  # the one under review, if any
    applications: dict[str, str] = Field(default_factory=dict)  # id -> state, every one handled


def repair_workflow_id(record_id: str) -> str:
    return f"repair:{record_id}"


def review_task_id(application_id: str) -> str:
    return f"review-{application_id}"
