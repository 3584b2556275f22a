"""Expiry of records whose validity has ended (001 Art. 19): status, history, `record.expired.v1`
and the subjects' new status, in one transaction per batch. Driven by the record-expiry workflow."""

from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.messaging import write_outbox
from services.common.tables import table_of
from services.common.topics import RECORD_EXPIRED
from services.evaluation import events
from services.evaluation.ledger.history import append_versions
from services.evaluation.models import MESSAGING, CreditRecord
from services.evaluation.records.subjects import publish_subject_statuses

RECORDS_T = table_of(CreditRecord)


async def expire_due(engine: AsyncEngine, *, as_of: date, now: datetime, batch: int = 1000) -> int:
    """Expire every record in force whose valid_until is before `as_of`; returns how many."""
    total = 0
    while True:
        async with engine.begin() as conn:
            q = (
                select(RECORDS_T)
                .where(RECORDS_T.c.status == "in_force", RECORDS_T.c.valid_until < as_of)
                .order_by(RECORDS_T.c.valid_until, RECORDS_T.c.id)
                .limit(batch)
            )
            if conn.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = [dict(r._mapping) for r in await conn.execute(q)]
            if not rows:
                return total
            for row in rows:
                row["status"] = "expired"
                row["version"] += 1
            await conn.execute(
                update(RECORDS_T)
                .where(RECORDS_T.c.id.in_([r["id"] for r in rows]))
                .values(status="expired", version=RECORDS_T.c.version + 1)
            )
            await append_versions(conn, rows, change="expired", actor="system:expiry", now=now)
            touched = {
                r["subject_key"]: {"type": r["subject_type"], "id": r["subject_id"], "name": r["subject_name"]}
                for r in rows
            }
            outbox = [events.record_event(RECORD_EXPIRED, r, event_time=now) for r in rows]
            outbox += await publish_subject_statuses(conn, touched, cause="record.expired", now=now)
            await write_outbox(conn, MESSAGING.outbox, outbox)
        total += len(rows)


async def next_due(engine: AsyncEngine) -> date | None:
    async with engine.connect() as conn:
        value = await conn.scalar(select(func.min(RECORDS_T.c.valid_until)).where(RECORDS_T.c.status == "in_force"))
    return value
