"""Which service answers for what nobody reads on a shared topic: a malformed message, an unknown
type or version, or a type of the topic that no consumer takes. Several services read
`credit.inbound.applications` and `credit.records`; exactly one of them dead-letters the rest, so a
bad input is refused once — not by none, not by each. Every other consumer passes over (`not_mine`)
what it does not read. A topic missing here has no consumer in the system yet."""

from collections.abc import Mapping
from types import MappingProxyType

from services.common.topics import (
    EXPERTS,
    INBOUND_APPLICATIONS,
    INBOUND_BEHAVIOUR,
    RECORDS,
    SUBJECTS,
    TASKS,
)

EVALUATION = "evaluation"
PUBLICATION = "publication"
CASEWORK = "casework"

ANSWERS_UNKNOWN: Mapping[str, str] = MappingProxyType(
    {
        INBOUND_BEHAVIOUR: EVALUATION,
        # repair.requested (repair), appeal.filed (appeal), expert.training.completed (evaluation):
        # the evaluation service's training consumer dead-letters everything else.
        INBOUND_APPLICATIONS: EVALUATION,
        # Read by publication (all of them), repair and appeal (replicas) and evaluation (experts').
        RECORDS: PUBLICATION,
        SUBJECTS: PUBLICATION,
        EXPERTS: PUBLICATION,
        # determination.requested is casework's; casework's own task.* events are passed over.
        TASKS: CASEWORK,
    }
)


def answers_unknown(topic: str, service: str) -> bool:
    """True when `service` dead-letters what nobody reads on `topic`."""
    return ANSWERS_UNKNOWN.get(topic) == service
