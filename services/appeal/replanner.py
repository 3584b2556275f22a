"""Open appeals' review due dates re-planned when a year's holiday arrangement is installed: a
consumer of `calendar.installed.v1` on the consumer frame (group `credit-appeal-replan`, so each
announcement is handled once by the service), as the watch re-plans its clocks and casework its
tasks (services/common/calendar_follower.py holds what the three share).

An appeal still open (filed, or under review) whose due date was counted through that year — on the
provisional calendar, or on an earlier version of the arrangement — is counted again from its filing
day (deadline.recounted: the last working day by the law's last day, never earlier than the date
stored). Where the date or its provisional mark changes, the appeal takes them and a `replan_due`
signal for its review workflow goes to the command outbox (commands.py), in the transaction that
marks the announcement processed; the workflow announces the new date as a new version of the
appeal (appeal.changed.v1 — the workflow numbers the versions, so the service does not). Temporal
being away delays the announcement, never loses it; the date shown over HTTP is the stored one at
once. The review task itself is re-planned by casework (its due date carries the same law's last
day: TaskSpec.due_by), not here."""

from datetime import date

import structlog
from sqlalchemy import bindparam, or_, select, update

from services.appeal.commands import replan_due_command
from services.appeal.deadline import recounted, shown_due
from services.appeal.events import SOURCE
from services.appeal.models import APPEALS_T, COMMANDS, MESSAGING
from services.common.calendar_follower import counted_through, install_announced
from services.common.commands import write_commands
from services.common.contracts.calendar import CALENDAR_INSTALLED, CalendarInstalled
from services.common.contracts.decode import Typed
from services.common.contracts.owners import APPEAL
from services.common.frame import Accepted, Batch, Consumer, Rejected
from services.common.lawdates import local_date
from services.common.topics import CALENDAR
from workflows.appeal.inputs import AppealDueReplan

log = structlog.get_logger(__name__)
GROUP_ID = "credit-appeal-replan"
OPEN_STATES = ("filed", "under_review")


async def _installed(event: Typed[CalendarInstalled], batch: Batch) -> Accepted | Rejected:
    announced = install_announced(event.envelope.data)
    if isinstance(announced, Rejected):
        return announced
    arrangement, reason = announced
    year = arrangement.year
    q = select(APPEALS_T).where(
        APPEALS_T.c.state.in_(OPEN_STATES),
        # NULL: filed before the date was stored (its date is counted on read until now).
        or_(APPEALS_T.c.review_due_on.is_(None), APPEALS_T.c.review_due_on >= date(year, 1, 1)),
    )
    open_appeals = [dict(r._mapping) for r in await batch.conn.execute(q)]
    changed, commands = [], []
    for row in open_appeals:
        shown = shown_due(row)
        if not counted_through(local_date(row["filed_at"]), shown.due_on, year):
            continue
        due = recounted(row)
        if row["review_due_on"] is not None and (due.due_on, due.provisional) == (shown.due_on, shown.provisional):
            continue  # the same date on the same footing: nothing to tell the appellant
        changed.append({"aid": row["id"], **{f"new_{k}": v for k, v in due.columns().items()}, "now": batch.now})
        replan = AppealDueReplan(due_on=due.due_on, provisional=due.provisional, reason=reason)
        commands.append(replan_due_command(row["id"], replan))
    if changed:
        columns = ("review_due_on", "review_working_days", "review_due_provisional")
        stmt = (
            update(APPEALS_T)
            .where(APPEALS_T.c.id == bindparam("aid"))
            .values(**{c: bindparam(f"new_{c}") for c in columns}, updated_at=bindparam("now"))
        )
        await batch.conn.execute(stmt, changed)
        await write_commands(batch.conn, COMMANDS, commands)
    log.info("open appeals re-planned", year=year, appeals=len(changed))
    return Accepted(mark=f"replanned:{len(changed)}", result=len(changed))


# Fields: service, source, messaging tables, topics, handlers by contract.
REPLANNER = Consumer(APPEAL, SOURCE, MESSAGING, (CALENDAR,), {CALENDAR_INSTALLED: _installed})
