"""Temporal activities of the repair service (queue `repair-activities`), run by a worker inside
the repair process: the writes RecordRepairWorkflow orchestrates."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from services.common.relay import OutboxRelay
from services.repair.changes import change_application, publish_window
from workflows.activity_names import CHANGE_APPLICATION, PUBLISH_REPAIR_WINDOW
from workflows.repair.inputs import ApplicationChanged, WindowChanged


class RepairActivities:
    def __init__(self, engine: AsyncEngine, relay: OutboxRelay | None = None) -> None:
        self._engine = engine
        self._relay = relay

    @activity.defn(name=PUBLISH_REPAIR_WINDOW)
    async def publish_repair_window(self, change: WindowChanged) -> None:
        """The window's status row; repair.opened.v1 on credit.applications when it opens."""
        async with self._engine.begin() as conn:
            changed = await publish_window(conn, change, now=datetime.now(UTC))
        if changed and self._relay is not None:
            self._relay.wake()

    @activity.defn(name=CHANGE_APPLICATION)
    async def change_application(self, change: ApplicationChanged) -> None:
        """The application's row and repair.changed.v1 on credit.applications."""
        async with self._engine.begin() as conn:
            changed = await change_application(conn, change)
        if changed and self._relay is not None:
            self._relay.wake()
