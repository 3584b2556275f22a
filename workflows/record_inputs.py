"""Inputs and results of the evaluation service's record-changing activities, which the repair,
appeal and determination workflows call (queue `evaluation-activities`). Only the evaluation
service changes records: each change is a new version in the record's hash-chained history and
ledger, the record event, and the subject's new status, in one transaction. Every activity is
idempotent on its business key (a retry after a commit finds the change made and reports it)."""

from datetime import date, datetime

from pydantic import BaseModel, Field


class RecordRef(BaseModel):
    record_id: str


class RecordFacts(BaseModel):
    """Result of `get_record_facts`: what a workflow may rely on about a record now."""

    record_id: str
    version: int
    status: str  # in_force | expired | repaired | withdrawn
    severity: str
    behaviour_code: str
    subject: dict  # {type, id, name}
    region: str
    recorded_on: date
    valid_until: date
    recorded_by: str | None = None  # the officer (token sub) who recorded it, when known
    open_appeal_id: str | None = None


class RepairDecision(BaseModel):
    """Input of `repair_record` (001 Art. 20): approved repair; reason and opinion go to the
    integrity archive (the record's history)."""

    record_id: str
    application_id: str
    reason: str
    opinion: str = ""
    commitment: str = ""
    decided_by: str
    decided_at: datetime


class AppealMark(BaseModel):
    """Input of `mark_appealed`: the record is under objection (record.appealed.v1)."""

    record_id: str
    appeal_id: str
    filed_at: datetime
    applicant: dict = Field(default_factory=dict)


class AppealResolution(BaseModel):
    """Input of `uphold_record` and `correct_record`. For a correction, `corrections` holds the
    corrected fields (`behaviour_code`, and `determination` when the new code is serious); empty
    withdraws the record (it was wrong)."""

    record_id: str
    appeal_id: str
    reason: str
    decided_by: str
    decided_at: datetime
    corrections: dict = Field(default_factory=dict)


class DeterminationApplied(BaseModel):
    """Input of `apply_determination`: a case officer's decision on a reported serious behaviour
    (CONTRACT §4): `determine` records it with its determination, `record_general` records the
    general behaviour `fields.behaviour_code` instead, `dismiss` records nothing."""

    request_id: str  # the determination request (= task id)
    decision: str
    reason: str
    fields: dict = Field(default_factory=dict)
    decided_by: str
    decided_by_org: str
    decided_at: datetime


class DeterminationIntended(BaseModel):
    """Input of `note_intended_determination` (issue 16 point 5): the officer's `determine`, of which
    the subject is notified before listing, and until when it may file a statement (None: no window
    in the policy, the officer confirms)."""

    intended: DeterminationApplied
    statement_due: datetime | None = None


class RecordChangeResult(BaseModel):
    applied: bool  # False: nothing to change (already done, or the record is no longer in a state for it)
    record_id: str | None = None
    version: int | None = None
    status: str | None = None
    note: str = ""
