"""Statements that a burst must not turn into table scans (issue 19, bench/README.md "Issue 19:
plans that a burst spoils"), on a real PostgreSQL: a two-column key lookup (`pairs_in`) and the
promotion of deferred commands (`in_state`), each on 20,000 rows that share the leading value."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest
from sqlalchemy import Column, MetaData, String, Table, event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.local.components import create_database, drop_database_async, ensure_postgres
from services.common.commands import DEFERRED, PENDING, Command, command_table, defer_commands, promote_due
from services.common.db import make_engine
from services.common.sql import insert_rows, pairs_in
from tests.stack import PG_ADMIN

pytestmark = pytest.mark.connected

ROWS = 20_000
SUBJECTS = Table(
    "plans_subject",
    MetaData(),
    Column("subject_type", String(20), primary_key=True),
    Column("subject_id", String(40), primary_key=True),
    Column("region", String(6)),
)
COMMANDS = command_table("plans", deferred=True)


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    ensure_postgres(PG_ADMIN)
    name = f"credit_plans_{uuid.uuid4().hex[:8]}"
    url = create_database(PG_ADMIN, name)
    eng = make_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    async with eng.begin() as conn:
        await conn.run_sync(lambda sync: SUBJECTS.metadata.create_all(sync))
        await conn.run_sync(lambda sync: COMMANDS.metadata.create_all(sync))
    try:
        yield eng
    finally:
        await eng.dispose()
        await drop_database_async(PG_ADMIN, name)


def _removed_by_filter(plan: object) -> int:
    """Rows the plan's nodes read and threw away, summed over the tree (EXPLAIN ANALYZE, JSON)."""
    if isinstance(plan, list):
        return sum(_removed_by_filter(p) for p in plan)
    if not isinstance(plan, dict):
        return 0
    own = int(plan.get("Rows Removed by Filter", 0)) + int(plan.get("Rows Removed by Index Recheck", 0))
    return own + sum(_removed_by_filter(v) for k, v in plan.items() if k in ("Plan", "Plans"))


async def _explain(engine: AsyncEngine, statement: object) -> object:
    sql = str(statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        raw = (await conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))).scalar_one()
    return orjson.loads(raw) if isinstance(raw, str | bytes) else raw


async def test_pairs_in_finds_the_pairs_by_the_key_not_by_the_leading_column(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        rows = [{"subject_type": "supplier", "subject_id": f"S{i:06d}", "region": "410322"} for i in range(ROWS)]
        await insert_rows(conn, SUBJECTS, rows)
        await conn.execute(text("ANALYZE plans_subject"))
    wanted = [("supplier", f"S{i:06d}") for i in range(0, ROWS, 67)] + [("supplier", "absent"), ("agency", "S000000")]
    async with engine.connect() as conn:
        found = {
            (r.subject_type, r.subject_id)
            for r in await conn.execute(
                select(SUBJECTS).where(pairs_in(conn, (SUBJECTS.c.subject_type, SUBJECTS.c.subject_id), wanted))
            )
        }
        by_pairs = select(SUBJECTS).where(pairs_in(conn, (SUBJECTS.c.subject_type, SUBJECTS.c.subject_id), wanted))
    assert found == {p for p in wanted if p[1] != "absent" and p[0] == "supplier"}
    # A key lookup per pair: nothing read only to be filtered away (the row-value IN list it
    # replaces read all 20,000 suppliers of statistics_subject, bench/README.md).
    assert _removed_by_filter(await _explain(engine, by_pairs)) < len(wanted)


async def test_promote_due_promotes_exactly_the_due_starts_among_many_deferred(engine: AsyncEngine) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    later = [
        Command("repair", f"r{i}", "start", f"wf-{i}", "Repair", {"i": i}, not_before=now + timedelta(days=180))
        for i in range(ROWS)
    ]
    due = [
        Command("repair", f"d{i}", "start", f"due-{i}", "Repair", {"i": i}, not_before=now - timedelta(days=1))
        for i in range(3)
    ]
    async with engine.begin() as conn:
        await defer_commands(conn, COMMANDS, later, now=now - timedelta(days=2))
        await defer_commands(conn, COMMANDS, due, now=now - timedelta(days=2))
    async with engine.begin() as conn:
        assert await promote_due(conn, COMMANDS, now) == 3
    async with engine.connect() as conn:
        states = dict((await conn.execute(select(COMMANDS.c.state, text("count(*)")).group_by(COMMANDS.c.state))).all())
    assert states == {DEFERRED: ROWS, PENDING: 3}


async def test_services_plan_each_statement_for_its_own_parameters(engine: AsyncEngine) -> None:
    # A generic plan cached while a table was small kept sequential scans after a burst grew it
    # (services/common/db.py SERVER_SETTINGS); every engine the services make plans per execution.
    async with engine.connect() as conn:
        assert (await conn.execute(text("SHOW plan_cache_mode"))).scalar_one() == "force_custom_plan"


async def test_the_credit_readers_pool_plans_each_statement_too(engine: AsyncEngine) -> None:
    from services.publication.credit import CreditReader

    reader = await CreditReader.open(engine)
    try:
        assert reader._pool is not None
        async with reader._pool.acquire() as conn:
            assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
    finally:
        await reader.close()


async def test_the_credit_readers_pool_connects_with_the_engines_ssl(engine: AsyncEngine) -> None:
    # DATABASE_SSLMODE reaches the reader's own pool (publication's and the gateway's), not only the
    # service engine. This server has no TLS: a pool asked for TLS must fail to connect, not
    # silently connect in clear text.
    import ssl

    from services.gateway.credit import CreditReads
    from services.publication.credit import CreditReader

    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with pytest.raises((ConnectionError, OSError, asyncpg.PostgresError)):
        await CreditReader.open(engine, {"ssl": ctx})
    reads = CreditReads(engine.url.render_as_string(hide_password=False), {"ssl": ctx})
    assert await reads.reader_for("GET", "/v1/credit/supplier/91350100M000100Y43") is None  # proxied instead


async def test_a_relays_single_statements_go_alone(engine: AsyncEngine) -> None:
    # The outbox relay reads and moves its cursor on an AUTOCOMMIT connection (services/common/
    # relay.py): an upsert through the driver is committed by itself, with no transaction begun
    # for it (before: BEGIN, SELECT 1, the upsert, COMMIT).
    from services.common.sql import upsert_rows

    alone = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with alone.connect() as conn:
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        sent: list[str] = []
        raw.driver_connection.add_query_logger(lambda record: sent.append(record.query))
        # What goes through SQLAlchemy (the `SELECT 1` that began a transaction) is not logged by
        # asyncpg (prepared statements): SQLAlchemy's own event sees it.
        via_sqlalchemy: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: via_sqlalchemy.append(a[2]))
        await upsert_rows(
            conn,
            SUBJECTS,
            [{"subject_type": "supplier", "subject_id": "A", "region": "410322"}],
            key=["subject_type", "subject_id"],
        )
        assert not raw.driver_connection.is_in_transaction()
        await asyncio.sleep(0)  # asyncpg calls query loggers with call_soon: one turn of the loop
        assert len(sent) == 1 and sent[0].lstrip().startswith("INSERT"), sent  # the upsert alone
        assert via_sqlalchemy == []
        # Visible to another connection before this one is closed: committed by itself.
        async with engine.connect() as other:
            region = await other.scalar(select(SUBJECTS.c.region).where(SUBJECTS.c.subject_id == "A"))
        assert region == "410322"
    # Inside a transaction the driver's statement still belongs to it (rolled back with it).
    async with engine.connect() as conn:
        await upsert_rows(
            conn,
            SUBJECTS,
            [{"subject_type": "supplier", "subject_id": "B", "region": "410322"}],
            key=["subject_type", "subject_id"],
        )
        await conn.rollback()
    async with engine.connect() as conn:
        assert await conn.scalar(select(SUBJECTS.c.region).where(SUBJECTS.c.subject_id == "B")) is None
