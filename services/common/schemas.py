"""`data` of the inbound events of CONTRACT §1 (shared by Kafka intake and the HTTP API)."""

from datetime import date
from typing import Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field

SubjectType = Literal["supplier", "agency", "expert", "purchaser"]
ReporterType = Literal["purchaser", "agency", "finance"]
EvidenceKind = Literal["photo", "audio", "video", "joint_signature", "document"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Party(_Model):
    type: SubjectType
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class Reporter(_Model):
    type: ReporterType
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)


class Project(_Model):
    code: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    ocid: str | None = Field(default=None, max_length=200)


class EvidenceItem(_Model):
    kind: EvidenceKind
    uri: AnyUrl
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class Determination(_Model):
    decision_no: str = Field(min_length=1, max_length=100)
    decided_on: date
    liability_ends_on: date
    penalty: str = Field(min_length=1, max_length=500)
    # 处罚依据: the provision the decision applies. Required where the catalogue cites no statute for
    # the behaviour (the catch-all SUP-S-18 "其他违反法律、法规、行政规章规定的…"; issue 16 point 5).
    legal_basis: str | None = Field(default=None, max_length=500)


class BehaviourReport(_Model):
    """`behaviour.reported.v1`; with `determination` it is `misconduct.determined.v1`."""

    subject: Party
    behaviour_code: str = Field(min_length=1, max_length=20)
    reporter: Reporter
    region: str = Field(min_length=1, max_length=12)
    project: Project
    occurred_on: date
    description: str = Field(min_length=1, max_length=5000)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=50)
    determination: Determination | None = None
