"""Time-skipping Temporal server (six months pass in milliseconds) and a PostgreSQL database."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from deploy.local.components import (
    create_database_async,
    drop_database_async,
    ensure_postgres,
)
from services.common.db import create_tables, make_engine
from services.evaluation.models import TABLES
from tests.stack import PG_ADMIN
from tests.support.time_skipping import time_skipping_server


@pytest.fixture(scope="module")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    # One server per test module: a workflow a module leaves waiting (an ABANDON child, a task on a
    # queue nobody polls any more) holds a time-skipping server's clock, and must not hold it for
    # the other modules' tests.
    async with time_skipping_server() as env:
        yield env


@pytest.fixture
async def evaluation_db() -> AsyncIterator[AsyncEngine]:
    ensure_postgres(PG_ADMIN)
    url = await create_database_async(PG_ADMIN, "credit_wf_test")
    engine = make_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    await create_tables(engine, TABLES)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database_async(PG_ADMIN, "credit_wf_test")
