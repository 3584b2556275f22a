"""`data` of the inbound events of CONTRACT §1 (shared by Kafka intake and the HTTP API)."""

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AnyUrl, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from services.common.identifiers import ORGANISATION_TYPES, normalise_org_id, normalise_subject_id
from services.common.settings import get_settings

SubjectType = Literal["supplier", "agency", "expert", "purchaser"]
ReporterType = Literal["purchaser", "agency", "finance", "system"]
# The one system reporter (CONTRACT v1.1 *added*): the signals service, which reports a suspicion in
# its own name for a finance department to determine; accepted only from its source (intake).
SYSTEM_REPORTER_ID = "signals"
EvidenceKind = Literal["photo", "audio", "video", "joint_signature", "document"]
# Evidence items of one report, appeal or repair application (CREDIT_MAX_EVIDENCE_ITEMS, 50): an
# operational bound the department may change, not a number of the law, which sets none.
EVIDENCE_MAX = get_settings().credit_max_evidence_items


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    # Pydantic would also read a number, or a string of digits such as "20261128", as a Unix
    # timestamp (1970-08-23); the contract's dates are ISO 8601 calendar dates.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError("must be an ISO 8601 date, YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date string, YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Party(_Model):
    type: SubjectType
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _normalised_id(self) -> "Party":
        self.id = normalise_subject_id(self.type, self.id)
        return self


class Reporter(_Model):
    type: ReporterType
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _normalised_id(self) -> "Reporter":
        # A finance department's id is a division code: digits, folded from full width too.
        self.id = normalise_org_id(self.id) if self.type in ORGANISATION_TYPES else normalise_subject_id("", self.id)
        return self


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
    decided_on: IsoDate
    liability_ends_on: IsoDate
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
    occurred_on: IsoDate
    description: str = Field(min_length=1, max_length=5000)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=EVIDENCE_MAX)
    determination: Determination | None = None
    # What the signals service found and on which facts (bids and fields matched, complaints, a
    # commitment), for the officer who decides; only with the system reporter.
    signal: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _signal_of_the_system(self) -> "BehaviourReport":
        if self.signal is not None and self.reporter.type != "system":
            raise ValueError("only the system reporter (the signals service) sends a signal")
        return self
