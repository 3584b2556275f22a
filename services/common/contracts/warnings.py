"""`credit.warnings` (CONTRACT §1, v1.1): early warnings for purchasers, agencies and supervisors.
A warning never creates a credit record by itself: a finance department decides on its task."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from services.common.contracts.base import OutboundData, contract
from services.common.topics import WARNINGS


class Responsible(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    id: str
    name: str | None = None


class Indicator(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    basis: str
    evidence: Any = None


class DeadlineWarning(OutboundData):
    project: dict[str, Any]
    region: str
    stage: str  # contract_signing, contract_publication, contract_filing, acceptance, payment (+ policy)
    due_on: str
    level: Literal["due_soon", "overdue", "escalated"]
    responsible: Responsible
    task_id: str | None = None


class CollusionSuspected(OutboundData):
    project: dict[str, Any]
    region: str
    suppliers: list[dict[str, Any]]
    indicators: list[Indicator]
    task_id: str


class InterceptionRaised(OutboundData):
    project: dict[str, Any]
    region: str
    rule: str
    subject: dict[str, Any]
    detail: Any = None
    task_id: str | None = None


DEADLINE_WARNING = contract(
    "deadline.warning.v1", WARNINGS, DeadlineWarning, "outbound", "A procurement deadline is near, passed or escalated."
)
COLLUSION_SUSPECTED = contract(
    "collusion.suspected.v1", WARNINGS, CollusionSuspected, "outbound", "Bids of a project show signs of collusion."
)
INTERCEPTION_RAISED = contract(
    "interception.raised.v1",
    WARNINGS,
    InterceptionRaised,
    "outbound",
    "A step of a project breaks a credit rule (e.g. a contract awarded to a blacklisted supplier).",
)

CONTRACTS = (DEADLINE_WARNING, COLLUSION_SUSPECTED, INTERCEPTION_RAISED)
