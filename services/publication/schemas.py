"""Response models of the public endpoints, for the OpenAPI document."""

from pydantic import BaseModel


class PublicSubjectRef(BaseModel):
    type: str
    id: str
    name: str | None


class PublicRecordOut(BaseModel):
    record_id: str
    behaviour_code: str
    behaviour: str | None
    legal_basis: str | None
    severity: str
    region: str
    project: dict
    occurred_on: str
    recorded_on: str
    valid_until: str
    status: str
    determination: dict | None
    subject: PublicSubjectRef


class ExpertStanding(BaseModel):
    removed: bool
    may_be_drawn: bool
    not_drawable_until: str | None
    status: str | None = None
    training_required: bool | None = None


class CreditStatus(BaseModel):
    subject: PublicSubjectRef
    status: str
    grade: str
    may_participate: bool
    blacklisted: bool
    blacklisted_until: str | None
    records_in_force: list[PublicRecordOut]
    status_version: int
    as_of: str
    expert: ExpertStanding | None = None
