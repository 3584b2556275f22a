"""Temporal activities of the appeal service (queue `appeal-activities`): the review workflow reports
each change of the appeal here; the table and appeal.changed.v1 change in one transaction."""

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from services.appeal.events import appeal_changed_event
from services.appeal.models import APPEALS_T, MESSAGING
from services.common.messaging import lock_writer, write_outbox
from services.common.relay import OutboxRelay
from workflows.activity_names import RECORD_APPEAL_CHANGE
from workflows.appeal.inputs import TERMINAL_STATES, AppealChange


def changed_values(change: AppealChange, *, now: datetime) -> dict:
    """The columns an appeal change sets. A decided or closed appeal frees its record for another."""
    values: dict = {"state": change.state, "version": change.version, "updated_at": now}
    if change.task_id is not None:
        values["task_id"] = change.task_id
    if change.decision is not None:
        values["decision"] = {
            "decision": change.decision,
            "fields": change.fields,
            "decided_by": change.decided_by,
            "decided_at": change.decided_at.isoformat() if change.decided_at else None,
        }
        values["reason"] = change.reason
    if change.decision is not None or change.note or change.record_status is not None:
        values["outcome"] = {
            "record_version": change.record_version,
            "record_status": change.record_status,
            "note": change.note,
        }
    if change.state in TERMINAL_STATES:
        values["open_record_id"] = None
    return values


class AppealActivities:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self._relay = relay

    @activity.defn(name=RECORD_APPEAL_CHANGE)
    async def record_appeal_change(self, change: AppealChange) -> None:
        """Store the change and announce it. Idempotent: a version stored already changes nothing."""
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            # Serialise with other writers of this outbox first: the row lock below then cannot
            # wait behind a writer that waits for us.
            await lock_writer(conn, MESSAGING.outbox)
            result = await conn.execute(
                update(APPEALS_T)
                .where(APPEALS_T.c.id == change.appeal_id, APPEALS_T.c.version < change.version)
                .values(**changed_values(change, now=now))
            )
            if result.rowcount == 0:
                return
            row = (await conn.execute(select(APPEALS_T).where(APPEALS_T.c.id == change.appeal_id))).one()
            await write_outbox(conn, MESSAGING.outbox, [appeal_changed_event(dict(row._mapping), now=now)])
        if self._relay is not None:
            self._relay.wake()
