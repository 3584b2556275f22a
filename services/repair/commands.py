"""What the repair service owes its RecordRepairWorkflows, written to its command outbox
(services.common.commands) in the transaction that decided it: a workflow start for each new
repairable record, `record_changed` for a record's change, `apply` for an application.

A workflow start is written deferred until its window opens (records.py): it stays in the command
outbox, and Temporal holds nothing, until then. A start found early anyway (written before the
deferral, issue 19) is sent with a start delay until the window opens. A record change is sent as
signal-with-start, which starts the workflow (or ends a delay) at once, so a withdrawn or corrected
record's repair hears of it at once; an application only comes once the window is open, after the
deferred start (applications.py makes due starts pending first). The delay and the start input of
a change are worked out when the command is delivered (`prepare`), as of that moment."""

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.commands import Command, CommandOutbox, Route, signal, start
from services.common.policy import policy_for
from services.repair.changes import change_application
from services.repair.models import COMMANDS
from workflows.repair.inputs import (
    ApplicationChanged,
    RecordChange,
    RepairApplication,
    RepairInput,
    repair_workflow_id,
)
from workflows.repair.rules import terms_from, window_for
from workflows.repair.workflow import RecordRepairWorkflow

START = "repair.start"
RECORD_CHANGED = "repair.record_changed"
APPLY = "repair.apply"


def start_command(inp: RepairInput, *, not_before: datetime | None = None) -> Command:
    """`not_before`: the window's opening, until which the start is deferred (records.py)."""
    record_id = inp.record.record_id
    return start(START, record_id, RecordRepairWorkflow, repair_workflow_id(record_id), inp, not_before=not_before)


def change_command(change: RecordChange) -> Command:
    # The start input only matters if no repair exists; it is worked out at delivery (prepare).
    record_id = change.record.record_id
    return start(
        RECORD_CHANGED,
        record_id,
        RecordRepairWorkflow,
        repair_workflow_id(record_id),
        None,
        signal="record_changed",
        arg=change,
    )


def apply_command(application: RepairApplication) -> Command:
    record_id = application.record_id
    return signal(APPLY, record_id, repair_workflow_id(record_id), "apply", application)


async def _delay_until_window(_engine: AsyncEngine, command: Command) -> Command:
    inp = RepairInput.model_validate(command.start_arg)
    window = window_for(inp.record.severity, inp.record.recorded_on, inp.record.valid_until, inp.terms)
    if window.opens_at is not None and window.opens_at > datetime.now(UTC):
        return replace(command, not_before=window.opens_at)
    return command


async def _start_input_of_change(_engine: AsyncEngine, command: Command) -> Command:
    change = RecordChange.model_validate(command.arg)
    terms = terms_from(policy_for(change.record.region, change.record.recorded_on))
    return replace(command, start_arg=RepairInput(record=change.record, terms=terms).model_dump(mode="json"))


async def _close_application(conn: AsyncConnection, command: Command) -> None:
    """The repair is over (or never was): the application has no one to decide it, so it ends here
    with the reason."""
    await change_application(
        conn,
        ApplicationChanged(
            application_id=command.arg["application_id"],
            record_id=command.ref,
            state="refused",
            code="repair_closed",
            reason="repair of this record is closed",
            at=datetime.now(UTC),
        ),
    )


OUTBOX = CommandOutbox(
    COMMANDS,
    {
        START: Route(prepare=_delay_until_window),
        RECORD_CHANGED: Route(prepare=_start_input_of_change),
        APPLY: Route(gone=_close_application),
    },
    deferred=True,
)
