"""Inputs and results of the yearly evaluation run (issue 15): a region's agencies (Xuchang 004 item
23) or purchasers (Shenyang 000 §三.1) drafted, reviewed by an officer, published; purchasers below
the policy's threshold interviewed (约谈). Durations come from the policy and travel with the input."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

EvaluatedKind = Literal["purchaser", "agency"]


class EvaluationRunInput(BaseModel):
    kind: EvaluatedKind
    region: str
    # None: the year before the one the run starts in (Asia/Shanghai), as its Schedule starts it.
    period: str | None = Field(default=None, pattern=r"^\d{4}$")
    review_due_working_days: int
    interview_due_working_days: int


class DraftRequest(BaseModel):
    kind: EvaluatedKind
    region: str
    period: str


class Collected(BaseModel):
    """What `collect_figures` read: the subjects the watch named, and where the figures came from."""

    subjects: list[str]
    watch_ref: str
    records_on: date
    replica_as_of: datetime | None


class DraftedResult(BaseModel):
    subject_id: str
    total: float
    grade: str
    interview: bool


class Drafted(BaseModel):
    policy: str
    results: list[DraftedResult]
    # Subjects with figures but not all of them: not drafted, named for the officer with what lacks.
    missing: dict[str, list[str]] = Field(default_factory=dict)


class PublishRequest(BaseModel):
    kind: EvaluatedKind
    region: str
    period: str
    task_id: str
    reviewed_by: str
    reviewed_at: datetime


class EvaluationRunResult(BaseModel):
    state: Literal["published", "cancelled", "nothing_to_evaluate"]
    published: list[DraftedResult] = Field(default_factory=list)
    interview_task_ids: list[str] = Field(default_factory=list)
    rounds: int = 0


def run_workflow_id(kind: str, region: str, period: str) -> str:
    return f"evaluation-run:{kind}:{region}:{period}"


def review_task_id(kind: str, region: str, period: str, round_no: int) -> str:
    return f"evaluation-review:{kind}:{region}:{period}:{round_no}"


def interview_task_id(region: str, period: str, subject_id: str) -> str:
    return f"supervision-interview:{region}:{period}:{subject_id}"
