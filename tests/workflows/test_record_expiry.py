"""Expiry after one year on the time-skipping server, with the real activity on PostgreSQL."""

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.cloudevents import encode_structured, parse_kafka_message
from services.common.inbound import Inbound
from services.common.temporal import EVALUATION_ACTIVITIES
from services.common.topics import TYPE_PREFIX
from services.evaluation.activities import EvaluationActivities
from services.evaluation.intake.ingest import ingest
from services.evaluation.models import MESSAGING, CreditRecord
from tests.support.factories import event, report_data
from tests.workflows.saved import save_history
from workflows.record_expiry.inputs import RecordExpiryInput
from workflows.record_expiry.workflow import RecordExpiryWorkflow

HISTORIES = Path(__file__).parent / "histories"
RECORDS_T = CreditRecord.__table__


async def _record(engine: AsyncEngine, now: datetime) -> str:
    value, headers = encode_structured(event(report_data()))
    item = Inbound(original={}, key=None, envelope=parse_kafka_message(value, headers))
    async with engine.begin() as conn:
        (outcome,) = await ingest(conn, [item], now=now)
    assert outcome.record_id
    return outcome.record_id


async def _status(engine: AsyncEngine, record_id: str) -> str:
    async with engine.connect() as conn:
        return await conn.scalar(select(RECORDS_T.c.status).where(RECORDS_T.c.id == record_id))


async def _outbox_types(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(MESSAGING.outbox.c.payload).order_by(MESSAGING.outbox.c.seq))
        return [orjson.loads(r.payload)["type"].removeprefix(TYPE_PREFIX).removesuffix(".v1") for r in rows]


async def test_general_record_expires_after_one_year(
    time_skipping: WorkflowEnvironment, evaluation_db: AsyncEngine
) -> None:
    env = time_skipping
    start = await env.get_current_time()
    record_id = await _record(evaluation_db, start)
    queue = f"wf-{uuid.uuid4()}"
    acts = EvaluationActivities(evaluation_db)
    async with (
        Worker(env.client, task_queue=queue, workflows=[RecordExpiryWorkflow]),
        Worker(env.client, task_queue=EVALUATION_ACTIVITIES, activities=[acts.expire_due_records]),
    ):
        handle = await env.client.start_workflow(
            RecordExpiryWorkflow.run,
            RecordExpiryInput(max_sleep_seconds=30 * 86400, rounds_before_continue=50),
            id=f"record-expiry-{uuid.uuid4()}",
            task_queue=queue,
        )
        # 360 days on: still in force (valid through the anniversary).
        await env.sleep(timedelta(days=360))
        assert await _status(evaluation_db, record_id) == "in_force"
        # Past the anniversary's end (Asia/Shanghai): the sweep woke at that midnight and expired it.
        await env.sleep(timedelta(days=7))
        assert await _status(evaluation_db, record_id) == "expired"
        assert await handle.query(RecordExpiryWorkflow.get_expired_total) == 1
        history = await handle.fetch_history()
        await handle.terminate("test done")
    types = await _outbox_types(evaluation_db)
    assert types == ["record.created", "subject.status.changed", "record.expired", "subject.status.changed"]
    save_history("record_expiry_v1", history)
