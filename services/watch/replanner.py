"""Running clocks re-planned when a year's official holiday arrangement is installed (issue 13 with
issue 12's `credit.calendar`): a consumer of `calendar.installed.v1` on the consumer frame (group
`credit-watch-replan`, so each announcement is handled once by the service). A clock still running
(no completing fact) whose due date was counted through that year — on the provisional calendar, or
on an earlier version of the arrangement — is counted again from its starting fact's day; where its
due date or its provisional mark changes, its row takes them and a `replan` command for its workflow
goes to the command outbox (commands.py), all in the transaction that marks the announcement
processed — Temporal being away delays the re-planning, never loses it. The workflow moves only the
moments still ahead (workflows/deadline_clock.py, `workflow.patched("clock-replan-on-calendar")`).

The arrangement is installed into this process's reckoner first (the follower, which every replica
runs, may not have heard it yet); installing it twice changes nothing."""

from datetime import date
from typing import Any

import structlog
from sqlalchemy import bindparam, select, update

from services.common.calendar_follower import counted_through, install_announced
from services.common.commands import write_commands
from services.common.contracts.calendar import CALENDAR_INSTALLED, CalendarInstalled
from services.common.contracts.decode import Typed
from services.common.contracts.owners import WATCH
from services.common.frame import Accepted, Batch, Consumer, Rejected
from services.common.lawdates import local_date
from services.common.topics import CALENDAR
from services.watch.commands import command_of
from services.watch.deadlines import deadline_policy, due_for
from services.watch.events import SOURCE
from services.watch.models import CLOCKS, COMMANDS, MESSAGING
from services.watch.timeline import aware, clock_moments
from workflows.deadline_clock.inputs import ClockReplan

log = structlog.get_logger(__name__)
GROUP_ID = "credit-watch-replan"


def clock_counted_through(row: dict[str, Any], year: int) -> bool:
    """Whether the clock's due date was counted through `year` (from its starting day to its due date)."""
    return counted_through(local_date(aware(row["started_at"])), row["due_on"], year)


async def _installed(event: Typed[CalendarInstalled], batch: Batch) -> Accepted | Rejected:
    announced = install_announced(event.envelope.data)
    if isinstance(announced, Rejected):
        return announced
    arrangement, reason = announced
    year = arrangement.year
    q = select(CLOCKS).where(CLOCKS.c.done_at.is_(None), CLOCKS.c.due_on >= date(year, 1, 1))
    running = [dict(r._mapping) for r in await batch.conn.execute(q)]
    changed, commands = [], []
    for row in (r for r in running if clock_counted_through(r, year)):
        started_on = local_date(aware(row["started_at"]))
        due = due_for(deadline_policy(), row["region"], row["stage"], started_on)
        if due is None or (due.due_on, due.provisional) == (row["due_on"], row["provisional"]):
            continue  # the same date on the same footing: nothing to tell the workflow
        due_soon_at, overdue_at = clock_moments(due.due_on, started_on)
        plan = ClockReplan(
            due_on=due.due_on,
            due_soon_at=due_soon_at,
            overdue_at=overdue_at,
            provisional=due.provisional,
            reason=reason,
        )
        changed.append({"cid": row["clock_id"], "due": due.due_on, "prov": due.provisional, "now": batch.now})
        commands.append(command_of(row["clock_id"], "replan", plan.model_dump(mode="json")))
    if changed:
        stmt = (
            update(CLOCKS)
            .where(CLOCKS.c.clock_id == bindparam("cid"))
            .values(due_on=bindparam("due"), provisional=bindparam("prov"), updated_at=bindparam("now"))
        )
        await batch.conn.execute(stmt, changed)
        await write_commands(batch.conn, COMMANDS, commands)
    log.info("running clocks re-planned", year=year, clocks=len(changed))
    return Accepted(mark=f"replanned:{len(changed)}", result=len(changed))


# Fields: service, source, messaging tables, topics, handlers by contract.
REPLANNER = Consumer(WATCH, SOURCE, MESSAGING, (CALENDAR,), {CALENDAR_INSTALLED: _installed})
