"""Pure rules of an objection (Shandong (十)): who may object to which record, and what an objection
must bring. Kafka and HTTP share them; each refusal has a stable reason code (dead letter `reason`,
problem+json `code`) and its HTTP status."""

from dataclasses import dataclass

from services.common.contracts.applications import AppealApplication
from services.common.record_replica import ReplicaRecord


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str
    status: int
    extra: dict | None = None


STATUS = {
    "invalid_data": 422,
    "grounds_required": 422,
    "evidence_required": 422,
    "record_not_found": 404,
    "not_subject": 403,
    "applicant_mismatch": 403,
    "record_not_in_force": 409,  # kept for clients: a withdrawn record
    "appeal_open": 409,
    "duplicate_id_conflict": 409,
}


NOT_OBJECTABLE = frozenset({"withdrawn"})


def refusal(reason: str, message: str, **extra: str) -> Refusal:
    return Refusal(reason, message, STATUS[reason], extra or None)


def judge(app: AppealApplication, record: ReplicaRecord | None, open_appeal_id: str | None) -> Refusal | None:
    """None if the appeal is accepted. The burden of proof comes first: it concerns the application
    alone, whoever sends it."""
    if not app.grounds:
        return refusal("grounds_required", "an objection states its grounds (谁申请、谁举证)")
    if not app.evidence:
        return refusal("evidence_required", "an objection brings at least one evidence item (谁申请、谁举证)")
    if record is None:
        return refusal("record_not_found", f"no record {app.record_id}")
    if app.applicant.id != record.subject_id or app.applicant.type not in (None, record.subject_type):
        return refusal("not_subject", f"only the record's subject may object to record {app.record_id}")
    if record.status in NOT_OBJECTABLE:
        # Found wrong and withdrawn already: nothing left to object to. An expired or repaired record
        # is still in the subject's integrity archive and may be wrong: its objection is heard
        # (issue 16 point 6).
        return refusal(
            "record_not_in_force",
            f"record {app.record_id} is {record.status}, not in force",
            record_status=record.status,
        )
    if open_appeal_id is not None:
        return refusal(
            "appeal_open", f"appeal {open_appeal_id} on record {app.record_id} is still open", appeal_id=open_appeal_id
        )
    return None


def stored_applicant(app: AppealApplication, record: ReplicaRecord) -> dict:
    """The applicant as kept: the record's subject, named as the applicant named itself if it did."""
    return {"type": record.subject_type, "id": record.subject_id, "name": app.applicant.name or record.subject_name}
