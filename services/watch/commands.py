"""What the watch owes Temporal, written to its command outbox (services.common.commands,
`watch_command`) in the transaction of the fact or announcement that decided it, and delivered by
the one command relay (ordered per workflow, idempotent, retried, paced by
CREDIT_WATCH_DISPATCH_PER_SECOND):

- `watch.clock_start`: start a clock's DeadlineClockWorkflow (id `clock:{clock_id}`);
- `watch.clock_stop`: its completing fact arrived (signal `stop`);
- `watch.clock_replan`: its due date was counted again on an installed calendar (signal `replan`);
- `watch.intercept`: start an InterceptionWorkflow (id `interception:{interception_id}`).

A stop or re-plan that finds no workflow (a clock over, or whose start was taken back before it was
sent: timeline.py) has nothing left to reach: it is done, not failed."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.commands import Command, CommandOutbox, Route, signal, start
from services.watch.models import COMMANDS
from workflows.deadline_clock.inputs import clock_workflow_id, interception_workflow_id
from workflows.deadline_clock.workflow import DeadlineClockWorkflow
from workflows.interception.workflow import InterceptionWorkflow

CLOCK_START = "watch.clock_start"
CLOCK_STOP = "watch.clock_stop"
CLOCK_REPLAN = "watch.clock_replan"
INTERCEPT = "watch.intercept"

# The timeline's and the re-planner's kinds of command, by purpose.
SIGNALS = {"stop": (CLOCK_STOP, "stop"), "replan": (CLOCK_REPLAN, "replan")}


def command_of(ref: str, kind: str, payload: dict[str, Any]) -> Command:
    """A clock's `start`, `stop` or `replan`, or an `intercept`, as a command row."""
    if kind == "start":
        return start(CLOCK_START, ref, DeadlineClockWorkflow, clock_workflow_id(ref), payload)
    if kind == "intercept":
        return start(INTERCEPT, ref, InterceptionWorkflow, interception_workflow_id(ref), payload)
    purpose, name = SIGNALS[kind]
    return signal(purpose, ref, clock_workflow_id(ref), name, payload)


async def _nothing_to_reach(_conn: AsyncConnection, _command: Command) -> None:
    """The clock is over, or its workflow was never started: the timeline already says done."""


OUTBOX = CommandOutbox(
    COMMANDS,
    {CLOCK_STOP: Route(gone=_nothing_to_reach), CLOCK_REPLAN: Route(gone=_nothing_to_reach)},
)
