"""`credit.records` (CONTRACT §1): every version of a credit record, for anyone mirroring them
(publication, repair, appeal and the expert standings read it back). One model for all six
changes: each carries the whole record as it stands after the change."""

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.common.contracts.base import OutboundData, contract
from services.common.topics import RECORDS


class RecordSubject(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    id: str
    name: str


class RecordBehaviour(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    severity: str | None = None
    text: str | None = None
    legal_basis: str | None = None
    references: list[Any] = []


class RecordData(OutboundData):
    record_id: str
    version: int
    status: str  # in_force, corrected, withdrawn, repaired, expired
    subject: RecordSubject
    behaviour: RecordBehaviour
    severity: str
    region: str
    project: dict[str, Any] | None = None
    reporter: dict[str, Any] | None = None
    occurred_on: date | None = None  # always sent; optional here as the replicas do not read it
    recorded_on: date
    valid_until: date
    determination: dict[str, Any] | None = None
    evidence_count: int | None = None
    policy_version: str | None = None
    appeal: dict[str, Any] | None = None  # {appeal_id, state} while an objection is open or last decided
    resolution: dict[str, Any] | None = None  # {kind, decided_on}


def _record(change: str, summary: str):  # type: ignore[no-untyped-def]
    return contract(f"record.{change}.v1", RECORDS, RecordData, "outbound", summary)


RECORD_CREATED = _record("created", "A credit record was made.")
RECORD_APPEALED = _record("appealed", "The record's subject objected to it: it is under objection.")
RECORD_CORRECTED = _record("corrected", "An objection was upheld: the record was corrected or withdrawn.")
RECORD_UPHELD = _record("upheld", "An objection was dismissed: the record stands.")
RECORD_REPAIRED = _record("repaired", "The subject's credit repair was approved: the record is repaired.")
RECORD_EXPIRED = _record("expired", "The record's validity ended.")

CONTRACTS = (RECORD_CREATED, RECORD_APPEALED, RECORD_CORRECTED, RECORD_UPHELD, RECORD_REPAIRED, RECORD_EXPIRED)
