"""The shapes of the repair service's answers, for the OpenAPI document (issue 22; documentation
only, see services/common/documented.py)."""

from services.common.documented import Documented


class RepairApplication(Documented):
    """An application for credit repair, where it stands (repair/views.application_view)."""

    id: str
    record_id: str
    state: str
    code: str | None
    reason: str | None
    opinion: str | None
    task_id: str | None
    decided_by: str | None
    subject: dict
    region: str
    applicant: dict
    commitment: str | None
    evidence: list[dict]
    history: list[dict]
    version: int
    submitted_at: str | None
    updated_at: str | None


class RepairAccepted(RepairApplication):
    outcome: str  # accepted | duplicate


class RepairWindow(Documented):
    state: str
    repairable: bool
    opens_on: str | None
    closes_at: str | None
    reason: str
    policy_version: str
    may_apply_now: bool
    refusal: dict | None


class RepairsOfRecord(Documented):
    """A record's repair window and every application for it, newest first."""

    record_id: str
    record: dict
    window: RepairWindow
    count: int
    applications: list[RepairApplication]
