"""Pure rules of an objection (Shandong (十)): who may object to which record, and what an objection
must bring. Kafka and HTTP share them; each refusal has a stable reason code (dead letter `reason`,
problem+json `code`) and its HTTP status."""

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.identifiers import normalise_applicant_id
from services.common.record_replica import ReplicaRecord
from services.common.schemas import EVIDENCE_MAX, EvidenceItem, SubjectType

GROUNDS_MAX = 5000


class Applicant(BaseModel):
    """Who objects. `type` and `name` may be left out (HTTP: the token says who it is); when given,
    `type` must be the record subject's."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    type: SubjectType | None = None
    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _normalised_id(self) -> "Applicant":
        self.id = normalise_applicant_id(self.type, self.id)
        return self


class AppealApplication(BaseModel):
    """`data` of `appeal.filed.v1`, and the body of `POST /v1/appeals`. Grounds and evidence default
    to empty so that their absence is refused by the burden-of-proof rule with its own code, not
    as a schema error."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    record_id: str = Field(min_length=1, max_length=64)
    applicant: Applicant
    grounds: str = Field(default="", max_length=GROUNDS_MAX)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=EVIDENCE_MAX)


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
