"""An officer's evaluation entry and the year's publication on PostgreSQL: an entry still being
entered when the publication starts is counted by it (the publication waits for it on the lock both
take, `store.hold_publication`; before, it read the entries without it and published without it)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from deploy.local.components import create_database_async, drop_database_async, ensure_postgres
from services.common.db import make_engine
from services.common.migrations import migrate
from services.evaluations.activities import EvaluationActivities
from services.evaluations.models import MIGRATIONS, TABLES
from services.evaluations.scoring import OfficerEntry
from services.evaluations.store import ADJUSTMENT, add_entry, hold_publication
from tests.stack import PG_ADMIN
from tests.support.evaluations_year import AVERAGE, PERIOD, load_year
from tests.support.poll import eventually
from workflows.annual_evaluation.inputs import PublishRequest

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
PUBLISH = PublishRequest(
    kind="purchaser", region="210100", period=PERIOD, task_id="t-1", reviewed_by="reviewer-7", reviewed_at=AT
)


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    ensure_postgres(PG_ADMIN)
    name = f"credit_evalpub_{uuid.uuid4().hex[:8]}"
    url = await create_database_async(PG_ADMIN, name)
    eng = make_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        await migrate(eng, "evaluations", MIGRATIONS, TABLES)
        async with eng.begin() as conn:
            await load_year(conn)
        yield eng
    finally:
        await eng.dispose()
        await drop_database_async(PG_ADMIN, name)


async def waiting_on_a_lock(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        q = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        return int((await conn.execute(text(q))).scalar_one())


async def test_an_entry_being_entered_when_the_publication_starts_is_counted(engine: AsyncEngine) -> None:
    async with engine.connect() as officer:
        entering = await officer.begin()
        await hold_publication(officer, "purchaser", PERIOD)  # as the entry API does, first
        entry = OfficerEntry(2, "一项逾期系系统故障所致", "officer-sy")
        await add_entry(
            officer,
            kind="purchaser",
            subject_id=AVERAGE,
            period=PERIOD,
            region="210102",
            indicator=ADJUSTMENT,
            entry=entry,
            at=AT,
        )
        publishing = asyncio.create_task(EvaluationActivities(engine).publish_evaluations(PUBLISH))
        await eventually(lambda: waiting_on_a_lock(engine), until=lambda n: n == 1, timeout=30)
        assert not publishing.done()
        await entering.commit()
    published = await asyncio.wait_for(publishing, timeout=30)
    (average,) = [r for r in published.results if r.subject_id == AVERAGE]
    assert average.total == 76  # 74 from the figures, +2 from the entry it waited for
