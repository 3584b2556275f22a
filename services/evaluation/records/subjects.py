"""Keeps each subject's published status current: after records change, recompute the status of
the subjects they belong to and owe a `subject.status.changed.v1` for each one that changed."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.messaging import OutboundEvent
from services.common.sql import key_in, lock_keys, upsert_rows
from services.common.tables import table_of
from services.evaluation import events
from services.evaluation.models import CreditRecord, SubjectCommitment, SubjectState
from services.evaluation.records.status import InForce, subject_status

RECORDS_T = table_of(CreditRecord)
SUBJECTS_T = table_of(SubjectState)
COMMITMENTS_T = table_of(SubjectCommitment)


async def publish_subject_statuses(
    conn: AsyncConnection, touched: dict[str, dict], *, cause: str, now: datetime
) -> list[OutboundEvent]:
    """`touched` maps subject keys to `{type, id, name}`. Call inside the transaction that
    changed the records."""
    if not touched:
        return []
    keys = sorted(touched)
    previous_q = select(SUBJECTS_T.c.subject_key, SUBJECTS_T.c.version, SUBJECTS_T.c.snapshot).where(
        key_in(conn, SUBJECTS_T.c.subject_key, keys)
    )
    await lock_keys(conn, keys)
    previous = {r.subject_key: r for r in await conn.execute(previous_q)}
    in_force: dict[str, list[InForce]] = {k: [] for k in keys}
    # The status is filtered here, not in SQL: with `status = 'in_force'` (nearly every row) the
    # planner also read the whole status index for a BitmapAnd, 5 ms a batch after a burst of
    # 20,000 records instead of 0.1 ms (bench/README.md "Issue 19: plans that a burst spoils").
    rows = await conn.execute(
        select(
            RECORDS_T.c.subject_key,
            RECORDS_T.c.id,
            RECORDS_T.c.behaviour_code,
            RECORDS_T.c.severity,
            RECORDS_T.c.valid_until,
            RECORDS_T.c.status,
        ).where(key_in(conn, RECORDS_T.c.subject_key, keys))
    )
    for r in rows:
        if r.status == "in_force":
            in_force[r.subject_key].append(InForce(r.id, r.behaviour_code, r.severity, r.valid_until))
    breached: dict[str, list[dict]] = {k: [] for k in keys}
    commitments = await conn.execute(
        select(COMMITMENTS_T).where(
            key_in(conn, COMMITMENTS_T.c.subject_key, keys), COMMITMENTS_T.c.state == "breached"
        )
    )
    for c in commitments:
        breached[c.subject_key].append(
            {
                "commitment_id": c.commitment_id,
                "kind": c.kind,
                "made_on": c.made_on.isoformat(),
                "record_id": c.record_id,
            }
        )
    upserts, out = [], []
    for key in keys:
        subject = touched[key]
        snapshot = subject_status(subject, in_force[key], breached[key])
        before = previous.get(key)
        if before is not None and _same(before.snapshot, snapshot):
            continue
        version = (before.version if before else 0) + 1
        snapshot = {**snapshot, "version": version, "cause": cause, "changed_at": now.isoformat()}
        upserts.append(
            {
                "subject_key": key,
                "subject_type": subject["type"],
                "subject_id": subject["id"],
                "version": version,
                "snapshot": snapshot,
                "updated_at": now,
            }
        )
        out.append(events.status_event(subject["id"], snapshot, event_time=now))
    if upserts:
        await upsert_rows(conn, SUBJECTS_T, upserts, key=["subject_key"], update=["version", "snapshot", "updated_at"])
    return out


def _same(before: dict, after: dict) -> bool:
    volatile = {"version", "cause", "changed_at", "subject"}
    return {k: v for k, v in before.items() if k not in volatile} == {
        k: v for k, v in after.items() if k not in volatile
    }
