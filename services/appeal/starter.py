"""Starting the review workflow of each accepted appeal. Filing only stores the appeal; this loop
finds appeals not started yet and starts `appeal:{id}` (USE_EXISTING, so a start repeated after a
crash finds the running one), then notes the start. Woken right after a filing; it also looks every
few seconds, so an appeal filed while Temporal was unreachable is started once it is back."""

import asyncio
from datetime import UTC, datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.common import WorkflowIDConflictPolicy

from services.appeal.deadline import review_due
from services.appeal.models import APPEALS_T
from services.common.lawdates import local_date
from services.common.policy import policy_for
from services.common.settings import Settings
from services.common.temporal import WORKFLOW_QUEUE, LazyClient
from workflows.appeal import AppealReviewWorkflow
from workflows.appeal_inputs import AppealReviewInput, appeal_workflow_id

log = structlog.get_logger(__name__)
POLL_SECONDS = 5.0
BATCH = 100


def review_input(row: dict) -> AppealReviewInput:
    """The workflow's input: the durations of the policy of the record's region on the filing day;
    the review's due date is counted in services/appeal/deadline.py (what the appellant is told)."""
    filed_on = local_date(row["filed_at"])
    policy = policy_for(row["region"], filed_on)
    due = review_due(row["region"], row["filed_at"])
    if due.provisional:
        log.warning(
            "appeal review due date on a provisional calendar", appeal_id=row["id"], working_days=due.working_days
        )
    return AppealReviewInput(
        appeal_id=row["id"],
        record_id=row["record_id"],
        region=row["region"],
        subject={"type": row["subject_type"], "id": row["subject_id"], "name": row["subject_name"]},
        applicant=row["applicant"],
        grounds=row["grounds"],
        evidence=row["evidence"],
        filed_at=row["filed_at"],
        due_working_days=due.working_days,
        reminder_working_days_before=policy.tasks.reminder_working_days_before,
        escalation_working_days_after=list(policy.tasks.escalation_working_days_after),
    )


class ReviewStarter:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._temporal = LazyClient(settings)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()  # before looking, so a filing committed meanwhile wakes the next round
            await self.start_pending()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass

    async def start_pending(self) -> int:
        q = (
            select(APPEALS_T)
            .where(APPEALS_T.c.workflow_started_at.is_(None), APPEALS_T.c.state == "filed")
            .order_by(APPEALS_T.c.filed_at)
            .limit(BATCH)
        )
        async with self._engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(q)]
        if not rows:
            return 0
        client = await self._temporal.get()
        for row in rows:
            await client.start_workflow(
                AppealReviewWorkflow.run,
                review_input(row),
                id=appeal_workflow_id(row["id"]),
                task_queue=WORKFLOW_QUEUE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            async with self._engine.begin() as conn:
                await conn.execute(
                    update(APPEALS_T).where(APPEALS_T.c.id == row["id"]).values(workflow_started_at=datetime.now(UTC))
                )
        return len(rows)
