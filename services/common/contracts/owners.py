"""Who reads what on the shared topics, and which service answers for the rest: a malformed message,
an unknown type or version, a type nobody reads. Several services read `credit.inbound.applications`
and `credit.records`; exactly one of them dead-letters the rest, so a bad input is refused once —
not by none, not by each. It passes over the types the others read (`READERS`); every other
consumer passes over (`not_mine`) what it does not read. A topic missing from `ANSWERS_UNKNOWN` has
no consumer in the system yet."""

from collections.abc import Mapping
from types import MappingProxyType

from services.common.contracts import applications, behaviour, experts, records, subjects, tasks
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
REPAIR = "repair"
APPEAL = "appeal"
# Reads every outbound topic for its counters (issue 17); answers for none of them.
STATISTICS = "statistics"

ANSWERS_UNKNOWN: Mapping[str, str] = MappingProxyType(
    {
        INBOUND_BEHAVIOUR: EVALUATION,
        # The evaluation service's training consumer dead-letters what neither it, repair nor appeal reads.
        INBOUND_APPLICATIONS: EVALUATION,
        RECORDS: PUBLICATION,
        SUBJECTS: PUBLICATION,
        EXPERTS: PUBLICATION,
        # casework's own task.* events on it are passed over by casework (`passes`).
        TASKS: CASEWORK,
    }
)

_RECORD_READERS = frozenset({PUBLICATION, REPAIR, APPEAL, EVALUATION})
READERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        **{c.type: frozenset({EVALUATION}) for c in behaviour.CONTRACTS},
        applications.REPAIR_REQUESTED.type: frozenset({REPAIR}),
        applications.APPEAL_FILED.type: frozenset({APPEAL}),
        applications.TRAINING.type: frozenset({EVALUATION}),
        **{c.type: _RECORD_READERS for c in records.CONTRACTS},
        subjects.SUBJECT_STATUS_CHANGED.type: frozenset({PUBLICATION}),
        **{c.type: frozenset({PUBLICATION}) for c in experts.CONTRACTS},
        tasks.DETERMINATION_REQUESTED.type: frozenset({CASEWORK}),
    }
)


def answers_unknown(topic: str, service: str) -> bool:
    """True when `service` dead-letters what nobody reads on `topic`."""
    return ANSWERS_UNKNOWN.get(topic) == service


def read_elsewhere(topics: tuple[str, ...], service: str) -> frozenset[str]:
    """Types of `topics` that other services read and `service` does not: the answering service
    passes over them instead of refusing them as unknown."""
    from services.common.contracts.registry import on_topic  # registry imports this module's peers

    return frozenset(
        c.type for topic in topics for c in on_topic(topic) if c.type in READERS and service not in READERS[c.type]
    )
