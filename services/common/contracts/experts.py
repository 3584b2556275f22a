"""`credit.experts` (CONTRACT §1; 001 Art. 25): may the expert-pool system draw an expert."""

from typing import Any

from pydantic import BaseModel, ConfigDict

from services.common.contracts.base import OutboundData, contract
from services.common.topics import EXPERTS


class ExpertRef(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str | None = None


class StandingReason(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: str


class ExpertStanding(OutboundData):
    expert: ExpertRef
    region: str | None = None
    status: str  # drawable, suspended, removed
    may_be_drawn: bool | None = None
    suspended_until: str | None = None
    reasons: list[StandingReason]
    score: Any = None
    version: int
    cause: str | None = None


EXPERT_SUSPENDED = contract("expert.suspended.v1", EXPERTS, ExpertStanding, "outbound", "An expert may not be drawn.")
EXPERT_REINSTATED = contract(
    "expert.reinstated.v1", EXPERTS, ExpertStanding, "outbound", "An expert may be drawn again."
)
EXPERT_REMOVED = contract("expert.removed.v1", EXPERTS, ExpertStanding, "outbound", "An expert left the pool.")

CONTRACTS = (EXPERT_SUSPENDED, EXPERT_REINSTATED, EXPERT_REMOVED)
