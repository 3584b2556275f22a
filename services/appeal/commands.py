"""Starting the review workflow of each accepted appeal, and telling it of a re-planned due date
(`appeal.replan_due`, signal `replan_due`, from replanner.py): filing writes a start command for
`appeal:{id}` to the appeal service's command outbox in its transaction (services.common.commands),
and the command relay delivers it — once Temporal answers, if it did not when the appeal was filed
— then notes the start on the appeal (`workflow_started_at`). The workflow's input is worked out
when it is sent, from the stored appeal and the policy of its filing day."""

from dataclasses import replace
from datetime import UTC, datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.appeal.deadline import review_due
from services.appeal.models import APPEALS_T, COMMANDS
from services.common.commands import Command, CommandOutbox, Route, signal, start
from services.common.lawdates import local_date
from services.common.policy import policy_for
from workflows.appeal.inputs import AppealDueReplan, AppealReviewInput, appeal_workflow_id
from workflows.appeal.workflow import AppealReviewWorkflow

log = structlog.get_logger(__name__)


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
        review_due_by=due.due_by,
    )


REVIEW = "appeal.review"
# Signal `replan_due` of an appeal's review (replanner.py). Ordered after the start by the relay.
REPLAN_DUE = "appeal.replan_due"


def review_command(appeal: dict) -> Command:
    """What filing writes for an accepted appeal: start its review (the input is built when sent)."""
    return start(REVIEW, appeal["id"], AppealReviewWorkflow, appeal_workflow_id(appeal["id"]), None)


def replan_due_command(appeal_id: str, replan: AppealDueReplan) -> Command:
    return signal(REPLAN_DUE, appeal_id, appeal_workflow_id(appeal_id), "replan_due", replan)


async def _decided_meanwhile(_conn: AsyncConnection, _command: Command) -> None:
    """The review ended before the re-planned date reached it: nothing is left to announce."""


async def _review_input(engine: AsyncEngine, command: Command) -> Command:
    async with engine.connect() as conn:
        row = (await conn.execute(select(APPEALS_T).where(APPEALS_T.c.id == command.ref))).one()
    return replace(command, start_arg=review_input(dict(row._mapping)).model_dump(mode="json"))


async def _note_start(conn: AsyncConnection, command: Command) -> None:
    await conn.execute(
        update(APPEALS_T).where(APPEALS_T.c.id == command.ref).values(workflow_started_at=datetime.now(UTC))
    )


OUTBOX = CommandOutbox(
    COMMANDS,
    {REVIEW: Route(prepare=_review_input, delivered=_note_start), REPLAN_DUE: Route(gone=_decided_meanwhile)},
)
