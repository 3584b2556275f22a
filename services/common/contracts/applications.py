"""`credit.inbound.applications` (CONTRACT §1): what portals and platforms forward for a subject —
repair and objection applications, experts' trainings, and (v1.1) credit commitments. The same
models are the bodies of `POST /v1/repairs` and `POST /v1/appeals`."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.contracts.base import contract
from services.common.identifiers import normalise_applicant_id
from services.common.schemas import EVIDENCE_MAX, EvidenceItem, IsoDate, Party, Project, SubjectType
from services.common.topics import INBOUND_APPLICATIONS

GROUNDS_MAX = 5000


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Applicant(_In):
    """Who applies. `type` and `name` may be left out (the applicant is the record's subject, whose
    are known; over HTTP the token says who it is); when given, `type` must be the subject's."""

    type: SubjectType | None = None
    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _normalised_id(self) -> "Applicant":
        self.id = normalise_applicant_id(self.type, self.id)
        return self


class RepairRequest(_In):
    """`data` of repair.requested.v1, also the body of POST /v1/repairs."""

    record_id: str = Field(min_length=1, max_length=64)
    applicant: Applicant
    # Absent or blank is refused as `commitment_required`, not as a schema error: it is the rule.
    commitment: str = Field(default="", max_length=5000)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=EVIDENCE_MAX)


class AppealApplication(_In):
    """`data` of `appeal.filed.v1`, and the body of `POST /v1/appeals`. Grounds and evidence default
    to empty so that their absence is refused by the burden-of-proof rule with its own code, not
    as a schema error."""

    record_id: str = Field(min_length=1, max_length=64)
    applicant: Applicant
    grounds: str = Field(default="", max_length=GROUNDS_MAX)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=EVIDENCE_MAX)


class Expert(BaseModel):
    id: str
    name: str


class TrainingCompleted(BaseModel):
    """`data` of expert.training.completed.v1."""

    expert: Expert
    completed_on: date
    course: str


class CommitmentMade(_In):
    commitment_id: str = Field(min_length=1, max_length=100)
    subject: Party
    project: Project | None = None
    kind: Literal["bid", "qualification", "repair", "other"]
    text: str = Field(min_length=1, max_length=5000)
    made_on: IsoDate


class CommitmentBreached(_In):
    commitment_id: str = Field(min_length=1, max_length=100)
    subject: Party
    region: str = Field(min_length=6, max_length=6)
    found_on: IsoDate
    finding: str = Field(min_length=1, max_length=5000)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=EVIDENCE_MAX)


REPAIR_REQUESTED = contract(
    "repair.requested.v1", INBOUND_APPLICATIONS, RepairRequest, "inbound", "A subject applies for credit repair."
)
APPEAL_FILED = contract(
    "appeal.filed.v1", INBOUND_APPLICATIONS, AppealApplication, "inbound", "A subject objects to a record."
)
TRAINING = contract(
    "expert.training.completed.v1",
    INBOUND_APPLICATIONS,
    TrainingCompleted,
    "inbound",
    "An expert completed the training its standing requires.",
)
COMMITMENT_MADE = contract(
    "commitment.made.v1", INBOUND_APPLICATIONS, CommitmentMade, "inbound", "A subject made a credit commitment."
)
COMMITMENT_BREACHED = contract(
    "commitment.breached.v1",
    INBOUND_APPLICATIONS,
    CommitmentBreached,
    "inbound",
    "A department checked a credit commitment and found it false.",
)

CONTRACTS = (REPAIR_REQUESTED, APPEAL_FILED, TRAINING, COMMITMENT_MADE, COMMITMENT_BREACHED)
