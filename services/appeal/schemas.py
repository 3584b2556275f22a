"""The shape of an appeal as answered over HTTP, for the OpenAPI document (issue 22; documentation
only, see services/common/documented.py)."""

from pydantic import Field

from services.common.documented import Documented


class Appeal(Documented):
    """Where an appeal stands and, once decided, the decision with its reason (appeal/events.appeal_view);
    finance also sees `decided_by` and `filed_by`."""

    appeal_id: str
    version: int
    state: str
    record_id: str
    subject: dict
    applicant: dict
    region: str
    task_id: str | None
    decision: str | None
    corrected_fields: dict
    reason: str | None
    decided_at: str | None
    record_version: int | None
    record_status: str | None
    note: str
    evidence_count: int
    filed_at: str | None
    review_due_on: str = Field(
        description="the review's due date (Asia/Shanghai), counted in working days from the filing day"
    )
    review_working_days: int = Field(
        description="working days after the filing day the review has (the policy's clock)"
    )
    review_due_provisional: bool = Field(
        description="true when a year without an official calendar was counted: the date may move later, never earlier"
    )
    grounds: str
    evidence: list[dict]
    updated_at: str | None
    decided_by: str | None = None
    filed_by: str | None = None
