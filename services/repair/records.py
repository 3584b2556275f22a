"""The repair service's view of `credit.records`: its replica of every record, and for each record
that is repairable under its region's policy a repair window and the order to start its workflow;
for later versions (corrected, expired, repaired, withdrawn) of a record whose repair is not over,
the order to signal it. Everything for a batch is written in one transaction (bulk statements);
Temporal is called afterwards by the dispatcher, so 2,000+ records/s never wait for it.

The start is deferred until the window opens (`commands.defer_commands`): nothing happens in a
repair before then but a record change, which starts the workflow itself (signal-with-start), and
an application is only accepted once the window is open (`promote_due` goes first). So the
Temporal server keeps no execution, and spends no CPU, for the months a record waits (issue 19:
the delayed start of every general record took about 3 ms of the server's CPU at intake)."""

from datetime import datetime
from itertools import groupby

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.commands import Command, defer_commands, write_commands
from services.common.contracts.owners import REPAIR
from services.common.frame import Batch, counts, handle_batch
from services.common.inbound import Inbound
from services.common.policy import policy_for
from services.common.record_replica import replica_consumer, replicated, upsert_replica
from services.common.sql import insert_rows, key_in
from services.common.topics import TYPE_PREFIX
from services.repair.commands import START, change_command, start_command
from services.repair.events import SOURCE
from services.repair.models import COMMANDS, MESSAGING, REPLICA, WINDOWS
from workflows.repair.inputs import RecordChange, RepairInput, RepairRecord
from workflows.repair.rules import terms_from, window_for

log = structlog.get_logger(__name__)
# Versions the repair of a record must hear of (appealed / upheld change nothing for it).
SIGNALLED = frozenset(TYPE_PREFIX + f"record.{c}.v1" for c in ("corrected", "expired", "repaired"))


def repair_record(row: dict) -> RepairRecord:
    return RepairRecord(
        record_id=row["record_id"],
        version=row["version"],
        status=row["status"],
        severity=row["severity"],
        behaviour_code=row["behaviour_code"],
        subject={"type": row["subject_type"], "id": row["subject_id"], "name": row["subject_name"]},
        region=row["region"],
        recorded_on=row["recorded_on"],
        valid_until=row["valid_until"],
    )


async def apply_records(conn: AsyncConnection, items: list[Inbound], *, now: datetime) -> dict[str, int]:
    tally = {"started": 0, "signalled": 0}
    results = counts(await handle_batch(CONSUMER, conn, items, now=now, context={"tally": tally}))
    return {
        "replicated": results.get("applied", 0),
        **tally,
        "duplicate": results.get("duplicate", 0),
        "ignored": results.get("passed", 0),
    }


async def _order(batch: Batch) -> None:
    """Windows and start commands for new repairable records, signals for changes of open ones."""
    conn, now, tally = batch.conn, batch.now, batch.context["tally"]
    parsed = [(r.type, r.row) for r in replicated(batch)]
    windows = await _windows(conn, sorted({row["record_id"] for _, row in parsed}))
    new_windows, commands = [], []
    for type_, row in parsed:
        record = repair_record(row)
        state = windows.get(record.record_id)
        if state is None:
            start = _start_order(record, now=now)
            if start is not None:
                window, command = start
                windows[record.record_id] = window["state"]
                new_windows.append(window)
                commands.append(command)
                tally["started"] += 1
        elif state != "closed" and (type_ in SIGNALLED or record.status == "withdrawn"):
            change = RecordChange(record=record, change=type_.removeprefix(TYPE_PREFIX))
            commands.append(change_command(change))
            tally["signalled"] += 1
    await upsert_replica(conn, REPLICA, [row for _, row in parsed])
    await insert_rows(conn, WINDOWS, new_windows)
    await write_ordered(conn, commands, now=now)


CONSUMER = replica_consumer(service=REPAIR, source=SOURCE, messaging=MESSAGING, finish=_order)


async def learn_records(conn: AsyncConnection, rows: list[dict], *, now: datetime) -> None:
    """Records the owner gave for applications that came before their events (record_owner.py):
    stored as the event will be — the replica row, and for a repairable record its window and start
    command, ordered before the application's `apply` — so the application finds its workflow.
    When the event comes, the window exists and the same version is no change: nothing twice."""
    if not rows:
        return
    windows = await _windows(conn, sorted({r["record_id"] for r in rows}))
    new_windows, commands = [], []
    for row in rows:
        if row["record_id"] in windows:
            continue
        start = _start_order(repair_record(row), now=now)
        if start is not None:
            window, command = start
            windows[row["record_id"]] = window["state"]
            new_windows.append(window)
            commands.append(command)
    await upsert_replica(conn, REPLICA, rows)
    await insert_rows(conn, WINDOWS, new_windows)
    await write_ordered(conn, commands, now=now)


async def write_ordered(conn: AsyncConnection, commands: list[Command], *, now: datetime) -> None:
    """Starts deferred until their window opens; every other command at once; all in order."""
    for deferred, run in groupby(commands, key=lambda c: c.purpose == START and c.not_before is not None):
        if deferred:
            await defer_commands(conn, COMMANDS, list(run), now=now)
        else:
            await write_commands(conn, COMMANDS, list(run))


def _start_order(record: RepairRecord, *, now: datetime) -> tuple[dict, Command] | None:
    """The window row and start command of a record in force and repairable under its policy."""
    if record.status != "in_force":
        return None
    try:
        policy = policy_for(record.region, record.recorded_on)
    except LookupError as exc:
        log.warning("no policy for a record's repair", record_id=record.record_id, error=str(exc))
        return None
    terms = terms_from(policy)
    window = window_for(record.severity, record.recorded_on, record.valid_until, terms)
    if not window.repairable or window.closes_at <= now:
        return None
    row = {
        "record_id": record.record_id,
        "record_version": record.version,
        "subject_type": record.subject["type"],
        "subject_id": record.subject["id"],
        "region": record.region,
        "state": "waiting",
        "opens_on": window.opens_on,
        "closes_at": window.closes_at,
        "reason": "",
        "policy_version": policy.version,
        "updated_at": now,
    }
    start = RepairInput(record=record, terms=terms)
    return row, start_command(start, not_before=window.opens_at)


async def _windows(conn: AsyncConnection, record_ids: list[str]) -> dict[str, str]:
    if not record_ids:
        return {}
    q = select(WINDOWS.c.record_id, WINDOWS.c.state).where(key_in(conn, WINDOWS.c.record_id, record_ids))
    return {r.record_id: r.state for r in await conn.execute(q)}
