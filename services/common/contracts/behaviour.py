"""`credit.inbound.behaviour` (CONTRACT §1): behaviour reports and finance departments' determinations.
Both carry a `BehaviourReport`; a determination adds its `determination` (the intake rules refuse a
serious code without one, `determination_required`)."""

from services.common.contracts.base import contract
from services.common.schemas import BehaviourReport
from services.common.topics import INBOUND_BEHAVIOUR

BEHAVIOUR_REPORTED = contract(
    "behaviour.reported.v1",
    INBOUND_BEHAVIOUR,
    BehaviourReport,
    "inbound",
    "A dishonesty behaviour observed in a procurement stage, reported by a purchaser, agency or finance department.",
)
MISCONDUCT_DETERMINED = contract(
    "misconduct.determined.v1",
    INBOUND_BEHAVIOUR,
    BehaviourReport,
    "inbound",
    "A serious dishonesty behaviour determined by a finance department, with its legal-liability period.",
)

CONTRACTS = (BEHAVIOUR_REPORTED, MISCONDUCT_DETERMINED)
