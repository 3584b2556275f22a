"""Every event type of the system, gathered from the topic modules: the one list the decoder,
`topics.py`'s check, the consumers and the AsyncAPI document read."""

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from services.common.contracts import (
    application_states,
    applications,
    behaviour,
    calendar,
    dead_letter,
    experts,
    notices,
    procurement,
    pushes,
    records,
    subjects,
    tasks,
    warnings,
)
from services.common.contracts.base import Contract

ALL: tuple[Contract, ...] = (
    *behaviour.CONTRACTS,
    *procurement.CONTRACTS,
    *applications.CONTRACTS,
    *records.CONTRACTS,
    *subjects.CONTRACTS,
    *experts.CONTRACTS,
    *notices.CONTRACTS,
    *warnings.CONTRACTS,
    *tasks.CONTRACTS,
    *application_states.CONTRACTS,
    *dead_letter.CONTRACTS,
    *calendar.CONTRACTS,
    *pushes.CONTRACTS,
)
BY_TYPE: Mapping[str, Contract] = MappingProxyType({c.type: c for c in ALL})
if len(BY_TYPE) != len(ALL):  # a type declared twice would make the decoder pick one silently
    raise RuntimeError("an event type is declared by two contracts")


def topics() -> list[str]:
    """Every topic that carries a contract, in declaration order."""
    return list(dict.fromkeys(c.topic for c in ALL))


def on_topic(topic: str) -> list[Contract]:
    return [c for c in ALL if c.topic == topic]


def reading(contracts: Iterable[Contract]) -> Mapping[str, Contract]:
    """The types a consumer reads, by type string (what the decoder accepts)."""
    return MappingProxyType({c.type: c for c in contracts})
