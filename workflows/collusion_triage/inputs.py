"""Inputs of the collusion triage workflow and of its activity (one pydantic model each, STYLE)."""

from datetime import date, datetime

from pydantic import BaseModel, Field


class CollusionTriageInput(BaseModel):
    """One `collusion.suspected.v1`: a project's group of suppliers and the indicators that joined them
    (Luoyang Art. 10). Durations come from the region's policy in force when bidding closed."""

    triage_id: str  # the suspicion's task id (`collusion-…`), also the task's id
    region: str
    project: dict  # {code, name}
    suppliers: list[dict]  # [{type, id, name?}]
    indicators: list[dict]  # [{code, basis, evidence}]
    at: datetime  # when bidding closed and the bids were judged
    task_due_working_days: int
    reminder_working_days_before: int = 1
    escalation_working_days_after: list[int] = Field(default_factory=lambda: [0, 3])


class CollusionReferred(BaseModel):
    """Input of activity `refer_collusion`: the officer's `refer`, for the suppliers it chose."""

    triage_id: str
    task_id: str
    region: str
    project: dict
    suppliers: list[dict]
    indicators: list[dict]
    occurred_on: date
    reason: str
    decided_by_org: str


def collusion_workflow_id(triage_id: str) -> str:
    return f"collusion:{triage_id}"
