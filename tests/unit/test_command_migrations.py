"""The data migrations that moved what the retired loops still owed into the command outboxes:
rows pending in repair_dispatch and watch_dispatch, and determination requests not started yet, become pending
commands in order, which the command relay then delivers (SQLite; PostgreSQL runs the same
revisions in tests/integration/test_migrations_connected.py)."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from services.casework import models as casework
from services.common.command_relay import CommandRelay
from services.common.db import make_engine
from services.common.migrations import alembic_config, migrate
from services.common.policy import policy_for
from services.repair import models as repair
from services.repair.commands import OUTBOX as REPAIR_OUTBOX
from services.watch import models as watch
from services.watch.commands import OUTBOX as WATCH_OUTBOX
from workflows.repair.inputs import RecordChange, RepairApplication, RepairInput, RepairRecord
from workflows.repair.rules import terms_from

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        yield eng
    finally:
        await eng.dispose()


async def upgrade_to(engine: AsyncEngine, service: str, module, revision: str) -> None:  # type: ignore[no-untyped-def]
    cfg = alembic_config(service, module.MIGRATIONS, module.TABLES)

    def run(conn: sa.Connection) -> None:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def commands(engine: AsyncEngine, table: sa.Table) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(sa.select(table).order_by(table.c.seq))]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def start_workflow(self, workflow, arg, *, id: str, **kw) -> None:  # type: ignore[no-untyped-def]
        self.calls.append((kw.get("start_signal") or f"start {workflow}", id))

    def get_workflow_handle(self, workflow_id: str):  # type: ignore[no-untyped-def]
        calls = self.calls

        class Handle:
            async def signal(self, name: str, arg: object) -> None:
                calls.append((name, workflow_id))

        return Handle()


RECORD = RepairRecord(
    record_id="rec-1",
    version=1,
    status="in_force",
    severity="general",
    behaviour_code="SUP-G-01",
    subject={"type": "supplier", "id": "91410300MA0000001X", "name": "某公司"},
    region="410322",
    recorded_on=date(2026, 3, 2),
    valid_until=date(2027, 3, 1),
)


async def test_what_repair_dispatch_owed_is_delivered_from_the_command_outbox(engine: AsyncEngine) -> None:
    await upgrade_to(engine, "repair", repair, "0002")
    start = RepairInput(record=RECORD, terms=terms_from(policy_for(RECORD.region, RECORD.recorded_on)))
    change = RecordChange(record=RECORD.model_copy(update={"version": 2}), change="record.corrected.v1")
    apply = RepairApplication(
        application_id="app-1", record_id="rec-1", applicant=RECORD.subject, commitment="承诺", submitted_at=NOW
    )
    old = sa.table(
        "repair_dispatch", *(sa.column(c) for c in ("record_id", "kind", "created_at")), sa.column("payload", sa.JSON())
    )
    async with engine.begin() as conn:
        await conn.execute(
            old.insert(),
            [
                {"record_id": "rec-1", "kind": kind, "payload": payload.model_dump(mode="json"), "created_at": NOW}
                for kind, payload in (("start", start), ("record_changed", change), ("apply", apply))
            ],
        )
    await migrate(engine, "repair", repair.MIGRATIONS, repair.TABLES)
    moved = await commands(engine, repair.COMMANDS)
    assert [(c["purpose"], c["action"], c["name"], c["workflow_id"], c["state"]) for c in moved] == [
        ("repair.start", "start", None, "repair:rec-1", "pending"),
        ("repair.record_changed", "start", "record_changed", "repair:rec-1", "pending"),
        ("repair.apply", "signal", "apply", "repair:rec-1", "pending"),
    ]
    async with engine.connect() as conn:
        assert not await conn.run_sync(lambda c: sa.inspect(c).has_table("repair_dispatch"))
    temporal = Recorder()

    async def connect() -> Recorder:
        return temporal

    relay = CommandRelay(engine=engine, outbox=REPAIR_OUTBOX, client=connect, service="repair")  # type: ignore[arg-type]
    assert await relay.deliver_once() == (3, 3)
    assert temporal.calls == [
        ("start RecordRepairWorkflow", "repair:rec-1"),
        ("record_changed", "repair:rec-1"),
        ("apply", "repair:rec-1"),
    ]


async def test_requests_not_started_become_start_commands(engine: AsyncEngine) -> None:
    await upgrade_to(engine, "casework", casework, "0005")
    requests = sa.table(
        "casework_determination_request",
        *(sa.column(c) for c in ("request_id", "region", "received_at", "started_at")),
        sa.column("workflow_input", sa.JSON()),
    )
    async with engine.begin() as conn:
        await conn.execute(
            requests.insert(),
            [
                {"request_id": r, "region": "410322", "workflow_input": {"n": r}, "received_at": NOW, "started_at": s}
                for r, s in (("req-started", NOW), ("req-waiting", None))
            ],
        )
    await migrate(engine, "casework", casework.MIGRATIONS, casework.TABLES)
    (moved,) = await commands(engine, casework.COMMANDS)
    assert (moved["purpose"], moved["ref"], moved["workflow"], moved["workflow_id"], moved["start_arg"]) == (
        "casework.determination",
        "req-waiting",
        "DeterminationWorkflow",
        "determination:req-waiting",
        {"n": "req-waiting"},
    )


async def test_what_watch_dispatch_owed_temporal_moves_to_the_command_outbox_and_checks_stay(
    engine: AsyncEngine,
) -> None:
    await upgrade_to(engine, "watch", watch, "0001")
    old = sa.table(
        "watch_dispatch", *(sa.column(c) for c in ("clock_id", "kind", "created_at")), sa.column("payload", sa.JSON())
    )
    rows = [
        ("411000:P1:contract_signing:", "start", {"clock_id": "411000:P1:contract_signing:"}),
        ("411000:P1:supplier_barred:S1", "check", {"subject": {"id": "S1"}}),
        ("411000:P1:contract_signing:", "stop", {"done_at": NOW.isoformat(), "fact": "src|id"}),
        ("411000:P1:deposit_forbidden:A1", "intercept", {"interception_id": "411000:P1:deposit_forbidden:A1"}),
    ]
    async with engine.begin() as conn:
        await conn.execute(
            old.insert(), [{"clock_id": c, "kind": k, "payload": p, "created_at": NOW} for c, k, p in rows]
        )
    await migrate(engine, "watch", watch.MIGRATIONS, watch.TABLES)
    moved = await commands(engine, watch.COMMANDS)
    assert [(c["purpose"], c["action"], c["workflow"] or c["name"], c["workflow_id"]) for c in moved] == [
        ("watch.clock_start", "start", "DeadlineClockWorkflow", "clock:411000:P1:contract_signing:"),
        ("watch.clock_stop", "signal", "stop", "clock:411000:P1:contract_signing:"),
        ("watch.intercept", "start", "InterceptionWorkflow", "interception:411000:P1:deposit_forbidden:A1"),
    ]
    assert moved[0]["start_arg"] == rows[0][2] and moved[1]["arg"] == rows[2][2]
    assert [(r["kind"], r["clock_id"]) for r in await commands(engine, watch.DISPATCH)] == [
        ("check", "411000:P1:supplier_barred:S1")
    ]
    temporal = Recorder()

    async def connect() -> Recorder:
        return temporal

    relay = CommandRelay(engine=engine, outbox=WATCH_OUTBOX, client=connect, service="watch")  # type: ignore[arg-type]
    assert await relay.deliver_once() == (3, 3)
    assert temporal.calls == [
        ("start DeadlineClockWorkflow", "clock:411000:P1:contract_signing:"),
        ("stop", "clock:411000:P1:contract_signing:"),
        ("start InterceptionWorkflow", "interception:411000:P1:deposit_forbidden:A1"),
    ]
