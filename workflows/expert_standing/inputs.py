"""Inputs, signals, query result and activity inputs of ExpertStandingWorkflow: one pydantic model
each (STYLE). The rules they serve are described in workflows/expert_standing/workflow.py."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from services.common.policy import ScoreRules

Severity = Literal["general", "serious"]
RecordStatus = Literal["in_force", "expired", "repaired", "corrected", "withdrawn"]
PublicStatus = Literal["drawable", "suspended", "removed"]
ReasonKind = Literal["general_record", "serious_record", "low_score"]
ExpertEvent = Literal["expert.suspended.v1", "expert.reinstated.v1", "expert.removed.v1"]


# --- Signals ---------------------------------------------------------------------------------------


class ExpertRecordChange(BaseModel):
    """A version of a credit record about the expert. A higher `version` of the same `record_id`
    replaces the earlier one; the same or a lower version again changes nothing.

    A correction that keeps the record alive either arrives as a new version with status
    `in_force` and the new severity/code, or with status `corrected` and `behaviour_code_after`
    (then `severity` is the severity after the correction). `corrected` without
    `behaviour_code_after` means the record was wrong: it is gone, like `withdrawn`."""

    record_id: str
    version: int
    severity: Severity
    behaviour_code: str
    recorded_on: date
    status: RecordStatus
    behaviour_code_after: str | None = None


class TrainingCompleted(BaseModel):
    """`expert.training.completed.v1`; the same `event_id` twice changes nothing."""

    event_id: str
    completed_on: date
    course: str


# --- Query result and state ------------------------------------------------------------------------


class Reason(BaseModel):
    kind: ReasonKind
    record_id: str | None = None
    until: date | None = None  # last day not drawable; None: until training (low_score) or final (serious)


class ScoreEntry(BaseModel):
    at: date  # legal date (Asia/Shanghai) on the workflow clock
    change: int
    score: int
    cause: str


class ExpertStanding(BaseModel):
    expert_id: str
    status: PublicStatus
    # Not drawable through this date, drawable from the next local midnight. None while
    # suspended means "until training is completed"; always None when drawable or removed.
    suspended_until: date | None = None
    reasons: list[Reason] = Field(default_factory=list)
    score: int | None = None  # None: the region has no score regime
    score_history: list[ScoreEntry] = Field(default_factory=list)
    version: int = 0  # +1 on every change of the standing, so consumers can order what they see


class RecordState(BaseModel):
    """What the workflow keeps of a record: its latest version, normalised (see ExpertRecordChange)."""

    record_id: str
    version: int
    severity: Severity
    behaviour_code: str
    recorded_on: date
    status: RecordStatus
    deducted: int = 0  # points this record takes off the score now; given back exactly, if ever


class ExpertState(BaseModel):
    """Everything carried over continue-as-new."""

    records: dict[str, RecordState] = Field(default_factory=dict)
    trainings: list[str] = Field(default_factory=list)  # event ids already applied
    score: int
    score_history: list[ScoreEntry] = Field(default_factory=list)
    standing_version: int = 0
    # What the expert pool was last told, to publish only real changes.
    published_status: PublicStatus = "drawable"
    published_until: date | None = None


# --- Workflow input --------------------------------------------------------------------------------


class ExpertStandingInput(BaseModel):
    """Durations and points come from the regional policy (ExpertRules) with the input (STYLE)."""

    expert_id: str
    expert_name: str
    region: str
    suspension_months: int
    # The score regime of the policy, None where it sets none (Luoyang: Art. 25 only).
    score: ScoreRules | None = None
    # Inputs of workflows started before issue 16 point 8 carry a score regime in these fields (with
    # a default deduction the seeds never gave); those runs keep it (see expert_standing.py).
    score_start: int | None = None
    score_threshold: int | None = None
    default_deduction: int | None = None
    deductions: dict[str, int] = Field(default_factory=dict)
    rounds_before_continue: int = 200
    state: ExpertState | None = None  # carried over continue-as-new


# --- Activity inputs -------------------------------------------------------------------------------


class StandingChanged(BaseModel):
    """Input of activity `publish_expert_standing` → topic credit.experts."""

    expert_id: str
    expert_name: str
    region: str
    # None: the standing changed (score, reasons) but nothing the expert pool acts on; it is stored
    # for finance and the expert, and no event goes out.
    event: ExpertEvent | None = None
    standing: ExpertStanding
    cause: str


class EmployerNotice(BaseModel):
    """Input of activity `notify_employer` (001 Art. 25: the employer is notified)."""

    expert_id: str
    expert_name: str
    record_id: str
    behaviour_code: str
    recorded_on: date
    suspended_until: date
    idempotency_key: str  # f"{expert_id}:{record_id}:v{version}": a retried notice is sent once
