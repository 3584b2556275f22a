"""What a contract is: the CloudEvents `type` of an event with its topic, version, direction and the
pydantic model of its `data`. One module per topic family declares its contracts with `contract()`;
`registry.py` gathers them, and everything else (the decoder, topics, the AsyncAPI document) reads
that registry instead of restating a type string."""

import builtins
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.common.topics import TYPE_PREFIX

Direction = Literal["inbound", "outbound"]


class OutboundData(BaseModel):
    """`data` of an event the credit system publishes. The builders write dicts (the wire format is
    fixed and byte-compatible); the model names the fields an integrator can rely on, and keeps any
    other the builder adds (CONTRACT: fields may be added, never renamed or dropped)."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Contract:
    type: str  # the full CloudEvents type, e.g. cn.gov.procurement.credit.record.created.v1
    topic: str
    model: builtins.type[BaseModel]  # `type` is a field of this class
    direction: Direction
    summary: str

    @property
    def short(self) -> str:
        """`record.created.v1`: the name CONTRACT.md uses."""
        return self.type.removeprefix(TYPE_PREFIX)

    @property
    def version(self) -> str:
        """The last segment of the type (`v1`): types are versioned by it (CONTRACT §1)."""
        return self.type.rpartition(".")[2]


def contract(short: str, topic: str, model: type[BaseModel], direction: Direction, summary: str) -> Contract:
    return Contract(type=TYPE_PREFIX + short, topic=topic, model=model, direction=direction, summary=summary)
