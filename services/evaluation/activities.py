"""Temporal activities of the evaluation service: the I/O the record workflows orchestrate."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from services.common.relay import OutboxRelay
from services.evaluation.expiry import expire_due, next_due
from workflows.inputs import ExpireDueInput, ExpireDueResult


class EvaluationActivities:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self._relay = relay

    @activity.defn(name="expire_due_records")
    async def expire_due_records(self, inp: ExpireDueInput) -> ExpireDueResult:
        """Expire the records whose last day in force is before `as_of`. Idempotent: a retry finds
        them expired already."""
        expired = await expire_due(self._engine, as_of=inp.as_of, now=datetime.now(UTC))
        if expired and self._relay is not None:
            self._relay.wake()
        return ExpireDueResult(expired=expired, next_due=await next_due(self._engine))
