"""`credit.subjects` (CONTRACT §1): may a subject take part, is it blacklisted, until when."""

from typing import Any

from services.common.contracts.base import OutboundData, contract
from services.common.contracts.records import RecordSubject
from services.common.topics import SUBJECTS


class SubjectStatus(OutboundData):
    subject: RecordSubject
    version: int
    cause: str | None = None
    changed_at: str | None = None
    status: str | None = None
    may_participate: bool
    blacklisted: bool | None = None
    blacklisted_until: str | None = None
    valid_until: str | None = None
    records_in_force: list[dict[str, Any]] = []


SUBJECT_STATUS_CHANGED = contract(
    "subject.status.changed.v1",
    SUBJECTS,
    SubjectStatus,
    "outbound",
    "A subject's credit status changed (participation, blacklist and until when).",
)

CONTRACTS = (SUBJECT_STATUS_CHANGED,)
