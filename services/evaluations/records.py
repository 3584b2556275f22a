"""The evaluations service's replica of `credit.records` and the counts it scores: each subject's
records in force at the end of a period, general and serious (Xuchang 004 item 23: points fed by
the agency's bad behaviour records; item 28: a grade per supplier).

Why a replica fed by the consumer frame rather than asking the evaluation service over HTTP: the
services talk through Kafka (DESIGN, Architecture), the repair and appeal services already keep
the same replica (services/common/record_replica.py), and a yearly run then counts records from its
own table without the records owner having to be up — the owner's internal endpoint answers about
one record by id, not about a subject's records over a period. What a count read: the ids of the
records counted and the time of the newest record event the replica had applied, kept with the
figure (its provenance)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.contracts.owners import EVALUATIONS
from services.common.frame import Batch, handle_batch
from services.common.inbound import Inbound
from services.common.record_replica import replica_consumer, replicated, upsert_replica
from services.common.sql import key_in
from services.evaluations.models import MESSAGING, REPLICA

SOURCE = "urn:credit:evaluations"
# A corrected record stands with its corrected fields; an expired one counts for the days it was in
# force; a withdrawn one never counted; a repaired one stops counting on the day of the repair.
COUNTED = frozenset({"in_force", "corrected", "expired"})
REPAIRED = "repaired"


async def replicate(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> list[datetime]:
    """Stores the records of `items` in the replica (newer versions win: a redelivered batch changes
    nothing); returns the times of the events it used."""
    times: list[datetime] = []
    await handle_batch(CONSUMER, conn, items, now=now, context={"times": times})
    return times


async def _store(batch: Batch) -> None:
    rows = [r.row for r in replicated(batch)]
    if rows:
        await upsert_replica(batch.conn, REPLICA, rows)
    batch.context["times"].extend(r.time for r in replicated(batch))


CONSUMER = replica_consumer(service=EVALUATIONS, source=SOURCE, messaging=MESSAGING, finish=_store)


@dataclass
class Counted:
    """One subject's records in force on a day, by severity, with the ids counted."""

    general: int = 0
    serious: int = 0
    record_ids: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.general + self.serious


def in_force_on(row: dict[str, Any], day: date) -> bool:
    """Pure: was the replica row in force on `day`?"""
    if not row["recorded_on"] <= day <= row["valid_until"]:
        return False
    if row["status"] in COUNTED:
        return True
    if row["status"] == REPAIRED:
        decided = ((row.get("data") or {}).get("resolution") or {}).get("decided_on")
        return decided is not None and date.fromisoformat(decided) > day
    return False


def count_in_force(rows: Iterable[dict[str, Any]], day: date) -> dict[str, Counted]:
    """Pure: per subject id, its records in force on `day`."""
    counted: dict[str, Counted] = defaultdict(Counted)
    for row in sorted(rows, key=lambda r: r["record_id"]):
        if not in_force_on(row, day):
            continue
        c = counted[row["subject_id"]]
        if row["severity"] == "serious":
            c.serious += 1
        else:
            c.general += 1
        c.record_ids.append(row["record_id"])
    return dict(counted)


# A record withdrawn on an upheld objection was a report that did not stand: it is no report made.
NOT_REPORTED = frozenset({"withdrawn"})


def count_reports(rows: Iterable[dict[str, Any]], reporter_type: str, first: date, last: date) -> dict[str, Counted]:
    """Pure: per reporter id, the records made between `first` and `last` (inclusive) on its reports
    (the record's `reporter` as received on credit.records), severity as recorded, with the ids."""
    counted: dict[str, Counted] = defaultdict(Counted)
    for row in sorted(rows, key=lambda r: r["record_id"]):
        reporter = (row.get("data") or {}).get("reporter") or {}
        if reporter.get("type") != reporter_type or not reporter.get("id"):
            continue
        if row["status"] in NOT_REPORTED or not first <= row["recorded_on"] <= last:
            continue
        c = counted[reporter["id"]]
        if row["severity"] == "serious":
            c.serious += 1
        else:
            c.general += 1
        c.record_ids.append(row["record_id"])
    return dict(counted)


async def reported_by(conn: AsyncConnection, reporter_type: str, reporter_ids: list[str]) -> list[dict]:
    """The replica rows of records made on these reporters' reports (whoever the subject)."""
    if not reporter_ids:
        return []
    path = REPLICA.c.data[("reporter", "id")].as_string()
    kind = REPLICA.c.data[("reporter", "type")].as_string()
    q = select(REPLICA).where(kind == reporter_type, key_in(conn, path, reporter_ids))
    return [dict(r) for r in (await conn.execute(q)).mappings()]


async def records_of(conn: AsyncConnection, subject_type: str, subject_ids: list[str]) -> list[dict]:
    """The replica rows of these subjects (wherever the record was made: a subject's credit is one)."""
    if not subject_ids:
        return []
    q = select(REPLICA).where(REPLICA.c.subject_type == subject_type, key_in(conn, REPLICA.c.subject_id, subject_ids))
    return [dict(r) for r in (await conn.execute(q)).mappings()]


async def replica_as_of(conn: AsyncConnection) -> datetime | None:
    """When the replica last applied a record (None: it has applied none)."""
    return (await conn.execute(select(func.max(REPLICA.c.updated_at)))).scalar()
