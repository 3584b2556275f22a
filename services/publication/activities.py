"""Temporal activities of the publication service (queue `publication-activities`): the period
notice, and the attempts and states of pushes to the national platforms."""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from services.common.relay import OutboxRelay
from services.publication import pushes
from services.publication.notices import publish_period_notice
from workflows.activity_names import DELIVER_PUSH, ESCALATE_PUSH, PUBLISH_PERIOD_NOTICE, SETTLE_PUSH
from workflows.notices.inputs import NoticeRequest, NoticeResult
from workflows.pushes.inputs import PushEscalated, PushRef, PushSettled, PushStatus


class PublicationActivities:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        urls: dict[str, str | None],
        relay: OutboxRelay | None = None,
        wake_commands: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._urls = urls
        self._relay = relay
        self._wake = wake_commands

    @activity.defn(name=PUBLISH_PERIOD_NOTICE)
    async def publish_period_notice(self, req: NoticeRequest) -> NoticeResult:
        async with self._engine.begin() as conn:
            result = await publish_period_notice(conn, req, now=datetime.now(UTC))
        if result.created:
            if self._relay is not None:
                self._relay.wake()
            if self._wake is not None:
                self._wake()
        return result

    def _ended(self, status: PushStatus) -> PushStatus:
        """A push that ended owes its outcome on credit.pushes: wake the relay (PostgreSQL's notify
        does too; SQLite has only this)."""
        if status.state in pushes.FINAL and self._relay is not None:
            self._relay.wake()
        return status

    @activity.defn(name=DELIVER_PUSH)
    async def deliver_push(self, ref: PushRef) -> PushStatus:
        return self._ended(await pushes.deliver(self._engine, ref.idempotency_key, self._urls))

    @activity.defn(name=ESCALATE_PUSH)
    async def escalate_push(self, esc: PushEscalated) -> PushStatus:
        return await pushes.set_state(self._engine, esc.idempotency_key, state="escalated", task_id=esc.task_id)

    @activity.defn(name=SETTLE_PUSH)
    async def settle_push(self, settled: PushSettled) -> PushStatus:
        return self._ended(
            await pushes.set_state(
                self._engine, settled.idempotency_key, state=settled.state, last_error=settled.note or None
            )
        )

    def all(self) -> list:
        return [self.publish_period_notice, self.deliver_push, self.escalate_push, self.settle_push]
