"""Who reads what on the shared topics, and which service answers for the rest: a malformed message,
an unknown type or version, a type nobody reads. Several services read `credit.inbound.applications`
and `credit.records`; exactly one of them dead-letters the rest, so a bad input is refused once —
not by none, not by each. It passes over the types the others read (`READERS`); every other
consumer passes over (`not_mine`) what it does not read. A topic missing from `ANSWERS_UNKNOWN` has
no consumer in the system yet."""

from collections.abc import Mapping
from types import MappingProxyType

from services.common.contracts import applications, behaviour, experts, procurement, records, subjects, tasks
from services.common.contracts.base import Contract
from services.common.topics import (
    EXPERTS,
    INBOUND_APPLICATIONS,
    INBOUND_BEHAVIOUR,
    INBOUND_PROCUREMENT,
    PUSHES,
    RECORDS,
    SUBJECTS,
    TASKS,
)

EVALUATION = "evaluation"
PUBLICATION = "publication"
CASEWORK = "casework"
REPAIR = "repair"
APPEAL = "appeal"
WATCH = "watch"
SIGNALS = "signals"
# Issue 15: keeps a replica of credit.records to count each subject's records in force.
EVALUATIONS = "evaluations"
# Reads every outbound topic for its counters (issue 17); answers only for credit.pushes, which it
# alone reads.
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
        # Issue 13: the watch (services/watch/intake.py, on the frame) dead-letters what it does not
        # read; complaint.decided.v1 (other watchers') it passes over.
        INBOUND_PROCUREMENT: WATCH,
        # Issue 17: the statistics service is the one reader of the push outcomes (its push consumer,
        # services/statistics/push_counts.py), so it refuses what is malformed or unknown there.
        PUSHES: STATISTICS,
    }
)

_RECORD_READERS = frozenset({PUBLICATION, REPAIR, APPEAL, EVALUATION, EVALUATIONS})
_SIGNALS_READ = frozenset(
    {procurement.BID_SUBMITTED.type, procurement.AWARD_NOTIFIED.type, procurement.COMPLAINT_DECIDED.type}
)


def _procurement_readers(c: Contract) -> frozenset[str]:
    watch = frozenset() if c is procurement.COMPLAINT_DECIDED else frozenset({WATCH})
    return watch | (frozenset({SIGNALS}) if c.type in _SIGNALS_READ else frozenset())


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
        # The watch reads every procurement fact but complaint decisions; the signals service (issue
        # 14, services/signals/handlers.py) reads bids, awards and complaint decisions, and commitments.
        **{c.type: _procurement_readers(c) for c in procurement.CONTRACTS},
        # Evaluation keeps them for the integrity archive (services/evaluation/records/commitments.py).
        applications.COMMITMENT_MADE.type: frozenset({SIGNALS, EVALUATION}),
        applications.COMMITMENT_BREACHED.type: frozenset({SIGNALS, EVALUATION}),
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
