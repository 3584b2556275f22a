"""The decoder: a received message (a CloudEvent in structured or binary mode, already parsed into
an `Inbound` by `services.common.inbound`) becomes its typed `data` — or a refusal carrying the
dead-letter reason code of CONTRACT §1 (`malformed_event`, `invalid_time`, `invalid_text`,
`message_too_large`, `unknown_type`, `invalid_data`)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from services.common.cloudevents import MALFORMED_EVENT, Envelope, RejectedEvent, check_type
from services.common.contracts.base import Contract
from services.common.inbound import Inbound

INVALID_DATA = "invalid_data"
D = TypeVar("D", bound=BaseModel)


@dataclass(frozen=True)
class Typed(Generic[D]):
    """An event whose `data` is its contract's model."""

    item: Inbound
    contract: Contract
    data: D

    @property
    def envelope(self) -> Envelope:
        assert self.item.envelope is not None
        return self.item.envelope

    @property
    def type(self) -> str:
        return self.contract.type

    @property
    def identity(self) -> tuple[str, str]:
        return self.item.identity


@dataclass(frozen=True)
class Refused:
    """A message that cannot be taken, with its dead-letter reason."""

    item: Inbound
    reason: str
    message: str


def problems(exc: ValidationError, most: int = 5) -> str:
    """The first `most` errors of a validation, as `loc: message; …` (the dead letter's message)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:most])


def decode(item: Inbound, accepted: Mapping[str, Contract]) -> Typed[Any] | Refused:
    """`item` as the typed event of one of the `accepted` contracts (keyed by type), or refused."""
    env = item.envelope
    if env is None:
        return Refused(item, item.reason or MALFORMED_EVENT, item.message or "not a CloudEvent")
    found = accepted.get(env.type)
    if found is None:
        try:
            check_type(env, accepted)
        except RejectedEvent as exc:
            return Refused(item, exc.reason, exc.message)
        raise AssertionError("check_type accepted a type that is not in `accepted`")  # pragma: no cover
    try:
        data = found.model.model_validate(env.data)
    except ValidationError as exc:
        return Refused(item, INVALID_DATA, problems(exc))
    return Typed(item, found, data)
