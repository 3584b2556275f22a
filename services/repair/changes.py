"""What the workflow changes in the repair service's tables (through its activities): the repair
window's status row with `repair.opened.v1`, and the application's row with `repair.changed.v1`,
each in one transaction with its event. Both are idempotent: an activity retried after its commit
finds the change made and writes nothing again."""

from datetime import datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.messaging import OutboundEvent, write_outbox
from services.common.sql import upsert_rows
from services.repair.events import changed_event, opened_event
from services.repair.models import APPLICATIONS, MESSAGING, WINDOWS
from workflows.repair.inputs import OPEN_STATES, ApplicationChanged, WindowChanged

log = structlog.get_logger(__name__)


async def publish_window(conn: AsyncConnection, change: WindowChanged, *, now: datetime) -> bool:
    """Store the window's state; announce repair.opened.v1 when it opens. False: nothing changed."""
    q = select(WINDOWS).where(WINDOWS.c.record_id == change.record.record_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    current = (await conn.execute(q)).first()
    r = change.record
    row = {
        "record_id": r.record_id,
        "record_version": r.version,
        "subject_type": r.subject["type"],
        "subject_id": r.subject["id"],
        "region": r.region,
        "state": change.state,
        "opens_on": change.opens_on,
        "closes_at": change.closes_at,
        "reason": change.reason,
        "policy_version": change.policy_version,
        "updated_at": now,
    }
    unchanged = ("state", "record_version", "opens_on", "closes_at", "reason")
    if current is not None and all(getattr(current, k) == row[k] for k in unchanged):
        return False
    await upsert_rows(conn, WINDOWS, [row], key=["record_id"])
    if change.state == "open" and (current is None or current.state != "open"):
        await write_outbox(conn, MESSAGING.outbox, [opened_event(row, r.model_dump(), now=now)])
    return True


async def change_application(conn: AsyncConnection, change: ApplicationChanged) -> bool:
    """Move an open application to its next state and announce it. False: already there, or over."""
    q = select(APPLICATIONS).where(APPLICATIONS.c.id == change.application_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    found = (await conn.execute(q)).first()
    if found is None:
        log.error("change of an unknown repair application", application_id=change.application_id)
        return False
    row = dict(found._mapping)
    if row["state"] == change.state or row["state"] not in OPEN_STATES:
        return False
    entry = {"state": change.state, "at": change.at.isoformat()}
    entry |= {k: v for k, v in (("code", change.code), ("reason", change.reason), ("opinion", change.opinion)) if v}
    if change.earliest is not None:
        entry["earliest"] = change.earliest.isoformat()
    values = {
        "state": change.state,
        "code": change.code,
        "reason": change.reason,
        "opinion": change.opinion,
        "task_id": change.task_id or row["task_id"],
        "decided_by": change.decided_by or row["decided_by"],
        "history": [*row["history"], entry],
        "version": row["version"] + 1,
        "updated_at": change.at,
    }
    await conn.execute(update(APPLICATIONS).where(APPLICATIONS.c.id == change.application_id).values(**values))
    events: list[OutboundEvent] = [changed_event(row | values, now=change.at)]
    await write_outbox(conn, MESSAGING.outbox, events)
    return True
