"""`credit.applications` (added to CONTRACT §1): where a subject's repair windows, repair
applications and objections stand, for the portals that follow them."""

from typing import Any

from services.common.contracts.base import OutboundData, contract
from services.common.topics import APPLICATIONS


class RepairOpened(OutboundData):
    record_id: str
    record_version: int
    subject: dict[str, Any]
    region: str
    behaviour_code: str
    severity: str
    recorded_on: str
    valid_until: str
    opens_on: str
    closes_at: str
    status: str


class RepairChanged(OutboundData):
    application_id: str
    record_id: str
    version: int
    state: str
    code: str | None = None
    reason: str | None = None
    opinion: str | None = None
    task_id: str | None = None
    subject: dict[str, Any]
    applicant: dict[str, Any]
    region: str
    evidence_count: int
    submitted_at: str
    changed_at: str


class AppealChanged(OutboundData):
    appeal_id: str
    version: int
    state: str
    record_id: str
    subject: dict[str, Any]
    applicant: dict[str, Any]
    region: str
    task_id: str | None = None
    decision: str | None = None
    corrected_fields: dict[str, Any] = {}
    reason: str | None = None
    decided_at: Any = None
    record_version: int | None = None
    record_status: str | None = None
    note: str = ""
    evidence_count: int
    filed_at: str
    # Added (issue 22): when the review is due (services/appeal/deadline.py), in working days.
    review_due_on: str | None = None
    review_working_days: int | None = None
    review_due_provisional: bool | None = None


REPAIR_OPENED = contract(
    "repair.opened.v1", APPLICATIONS, RepairOpened, "outbound", "A record may be repaired from `opens_on`."
)
REPAIR_CHANGED = contract(
    "repair.changed.v1", APPLICATIONS, RepairChanged, "outbound", "A repair application changed state."
)
APPEAL_CHANGED = contract("appeal.changed.v1", APPLICATIONS, AppealChanged, "outbound", "An objection changed state.")

CONTRACTS = (REPAIR_OPENED, REPAIR_CHANGED, APPEAL_CHANGED)
