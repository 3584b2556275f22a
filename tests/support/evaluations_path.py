"""Helpers of the connected tests that send a year of procurement events and reports through the
real path to the watch and the records (tests/integration/test_evaluations_real_path.py for
agencies and suppliers, test_evaluations_connected.py for purchasers)."""

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.common.db import make_engine
from services.common.identifiers import make_uscc
from services.common.lawdates import SHANGHAI
from services.common.workdays import RECKONER
from services.evaluations.models import REPLICA
from tests.stack import Stack
from tests.support.poll import eventually

PERIOD = str(datetime.now(SHANGHAI).year)


def new_uscc(prefix: str) -> str:
    """A fresh valid code whose first nine characters are `prefix` (type and region)."""
    return make_uscc(prefix + uuid.uuid4().hex[:8].upper().replace("I", "J").replace("O", "P"))


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def after(day: date, working_days: int) -> date:
    return RECKONER.add_working_days(day, working_days).day


@pytest.fixture(scope="module")
async def temporal(stack: Stack) -> AsyncIterator[Client]:
    yield await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)


async def replica_holds(stack: Stack, subjects: list[str], count: int) -> None:
    """Until the evaluations service's replica of credit.records holds `count` records of them."""
    engine = make_engine(stack.database_url.replace("postgresql://", "postgresql+asyncpg://", 1))

    async def held() -> int:
        async with engine.connect() as conn:
            q = select(func.count()).select_from(REPLICA).where(REPLICA.c.subject_id.in_(subjects))
            return int((await conn.execute(q)).scalar() or 0)

    try:
        await eventually(held, until=lambda n: n == count, timeout=90)
    finally:
        await engine.dispose()
