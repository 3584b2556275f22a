"""A service's own copy of the credit records it acts on (repair and appeal services), built from
`credit.records`: each keeps what it needs to judge an application at once (whose record it is,
its severity, dates and status). Newer versions win, so redelivery and reordering change nothing —
nor does a row stored ahead of its event from the owner's answer (record_owner.py), asked only when
an application names a record the replica has not heard of yet."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import structlog
from sqlalchemy import JSON, Column, Date, DateTime, Integer, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from services.common.contracts import records as record_contracts
from services.common.contracts.decode import Typed
from services.common.contracts.records import RecordData
from services.common.frame import NOT_MINE, Accepted, Batch, Consumer, NotMine
from services.common.messaging import MessagingTables
from services.common.sql import upsert_rows
from services.common.topics import RECORDS, TYPE_PREFIX

log = structlog.get_logger(__name__)

RECORD_TYPES = frozenset(
    TYPE_PREFIX + f"record.{c}.v1" for c in ("created", "appealed", "corrected", "upheld", "repaired", "expired")
)


def record_replica_table(service: str) -> Table:
    return Table(
        f"{service}_record",
        SQLModel.metadata,
        Column("record_id", String(64), primary_key=True),
        Column("version", Integer, nullable=False),
        Column("subject_type", String(20), nullable=False),
        Column("subject_id", String(64), nullable=False, index=True),
        Column("subject_name", String(200), nullable=False),
        Column("behaviour_code", String(20), nullable=False),
        Column("severity", String(10), nullable=False),
        Column("region", String(6), nullable=False),
        Column("recorded_on", Date, nullable=False),
        Column("valid_until", Date, nullable=False),
        Column("status", String(20), nullable=False),
        Column("under_objection", String(64), nullable=True),  # the open appeal's id, if any
        Column("data", JSON, nullable=False),  # the event's data as received
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


@dataclass(frozen=True)
class ReplicaRecord:
    record_id: str
    version: int
    subject_type: str
    subject_id: str
    subject_name: str
    behaviour_code: str
    severity: str
    region: str
    recorded_on: date
    valid_until: date
    status: str
    under_objection: str | None
    data: dict

    @property
    def subject(self) -> dict:
        return {"type": self.subject_type, "id": self.subject_id, "name": self.subject_name}


def replica_row(data: dict) -> dict:
    """The replica row of a record event's `data`; KeyError/ValueError when it is not one."""
    subject = data["subject"]
    appeal = data.get("appeal") or {}
    return {
        "record_id": data["record_id"],
        "version": int(data["version"]),
        "subject_type": subject["type"],
        "subject_id": subject["id"],
        "subject_name": subject["name"],
        "behaviour_code": data["behaviour"]["code"],
        "severity": data["severity"],
        "region": data["region"],
        "recorded_on": date.fromisoformat(data["recorded_on"]),
        "valid_until": date.fromisoformat(data["valid_until"]),
        "status": data["status"],
        "under_objection": appeal.get("appeal_id") if appeal.get("state") == "open" else None,
        "data": data,
        "updated_at": datetime.now(UTC),
    }


async def upsert_replica(conn: AsyncConnection, table: Table, rows: list[dict]) -> None:
    """Store the newest version of each record (rows keyed by record_id, unique in `rows`)."""
    newest: dict[str, dict] = {}
    for r in rows:
        if r["record_id"] not in newest or newest[r["record_id"]]["version"] < r["version"]:
            newest[r["record_id"]] = r
    await upsert_rows(conn, table, list(newest.values()), key=["record_id"], only_if_newer="version")


async def get_replica(conn: AsyncConnection, table: Table, record_id: str) -> ReplicaRecord | None:
    row = (await conn.execute(select(table).where(table.c.record_id == record_id))).first()
    return None if row is None else as_record(dict(row._mapping))


def as_record(row: dict) -> ReplicaRecord:
    """A replica row (stored, or from replica_row) as the record the rules read."""
    return ReplicaRecord(**{k: v for k, v in row.items() if k != "updated_at"})


@dataclass(frozen=True)
class Replicated:
    type: str
    row: dict
    time: datetime


async def _replicate(event: Typed[RecordData], batch: Batch) -> Accepted | NotMine:
    try:
        row = replica_row(event.envelope.data)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("record event not usable for the replica", identity=event.identity, error=repr(exc))
        return NOT_MINE
    replicated(batch).append(Replicated(event.type, row, event.envelope.time))
    return Accepted("applied")


def replicated(batch: Batch) -> list[Replicated]:
    """The records of the batch, in order, for the replica consumer's `finish`."""
    records: list[Replicated] = batch.state("replicated", list)
    return records


def replica_consumer(
    *, service: str, source: str, messaging: MessagingTables, finish: Callable[[Batch], Awaitable[None]]
) -> Consumer:
    """A service's consumer of `credit.records` for its replica: every record change is read; what
    is malformed or unusable is the publication service's to dead-letter (contracts/owners.py)."""
    return Consumer(
        service=service,
        source=source,
        messaging=messaging,
        topics=(RECORDS,),
        handlers=dict.fromkeys(record_contracts.CONTRACTS, _replicate),
        conflicts=False,
        refuses_invalid=False,
        finish=finish,
    )
