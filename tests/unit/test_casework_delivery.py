"""A stored decision reaches its task's workflow even when Temporal was away when it was made: its
command stays in the command outbox until the command relay gets it through (real activities on SQLite, the
time-skipping server as Temporal)."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.casework import actions, store
from services.casework.activities import CaseworkActivities
from services.casework.commands import OUTBOX
from services.casework.models import MIGRATIONS, TABLES, TASKS_T
from services.casework.plan import plan_task
from services.common.auth import Principal, Role
from services.common.command_relay import CommandRelay
from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.temporal import CASEWORK_ACTIVITIES
from tests.support import factories as f
from tests.support.poll import eventually
from tests.support.time_skipping import time_skipping_server
from workflows.human_task.inputs import TaskOutcome, TaskSpec, task_workflow_id
from workflows.human_task.workflow import HumanTaskWorkflow

ROOT = Path(__file__).resolve().parents[2]
ALICE = Principal(sub="alice", role=Role.FINANCE_OFFICER, org="410322", region="410322")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'casework.db'}")
    await migrate(engine, "casework", MIGRATIONS, TABLES)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEnvironment]:
    # Due dates may run into 2027, for which only the test fixture calendar has data.
    monkeypatch.setenv("CREDIT_CALENDAR_DIR", str(ROOT / "tests" / "fixtures" / "calendars"))
    async with time_skipping_server() as e:
        yield e


async def deliver_pending(engine: AsyncEngine, client: object) -> int:
    """One round of the command relay with this client; how many commands it settled."""

    async def connect() -> object:
        return client

    relay = CommandRelay(engine=engine, outbox=OUTBOX, client=connect, service="casework")  # type: ignore[arg-type]
    return (await relay.deliver_once())[1]


class TemporalAway:
    """A client whose every signal fails as if the server were down."""

    def get_workflow_handle(self, workflow_id: str):  # type: ignore[no-untyped-def]
        return self

    async def signal(self, *args: object) -> None:
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")


async def test_a_decision_made_while_temporal_is_away_is_delivered_later(
    env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    queue = f"wf-{uuid.uuid4()}"
    acts = CaseworkActivities(engine)
    async with (
        Worker(env.client, task_queue=queue, workflows=[HumanTaskWorkflow]),
        Worker(env.client, task_queue=CASEWORK_ACTIVITIES, activities=[acts.open_task, acts.escalate_task]),
    ):
        task_id = f"task-{uuid.uuid4()}"
        spec = TaskSpec(
            task_id=task_id,
            kind="push_failure",
            region="410322",
            title="推送失败",
            subject={"type": "supplier", "id": f.new_uscc(), "name": "某公司"},
            due_working_days=5,
        )
        handle = await env.client.start_workflow(
            HumanTaskWorkflow.run, spec, id=task_workflow_id(task_id), task_queue=queue
        )

        async def row() -> dict | None:
            async with engine.connect() as conn:
                return await store.load(conn, task_id)

        await eventually(row, until=lambda r: r is not None)
        async with engine.begin() as conn:
            await actions.claim(conn, task_id, ALICE, now=datetime.now(UTC))
            await actions.complete(
                conn, task_id, ALICE, {"decision": "retry", "reason": "平台恢复"}, now=datetime.now(UTC)
            )
        with pytest.raises(RPCError):
            await deliver_pending(engine, TemporalAway())
        assert (await row())["signal_pending"] is True
        assert await deliver_pending(engine, env.client) == 1
        outcome: TaskOutcome = await handle.result()
    assert outcome.decision is not None and (outcome.decision.decision, outcome.decision.decided_by) == (
        "retry",
        "alice",
    )
    delivered = await row()
    assert delivered["signal_pending"] is False and delivered["signal_error"] is None
    assert await deliver_pending(engine, env.client) == 0  # nothing owed any more


async def test_a_decision_for_a_workflow_that_is_gone_is_marked_undeliverable(
    env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    client: Client = env.client
    spec = TaskSpec(
        task_id="task-orphan",
        kind="push_failure",
        region="410322",
        title="t",
        subject={"type": "supplier", "id": f.new_uscc(), "name": "n"},
        due_working_days=5,
    )
    async with engine.begin() as conn:
        await conn.execute(
            TASKS_T.insert().values(**store.new_row(spec, plan_task(spec, datetime.now(UTC)), datetime.now(UTC)))
        )
        await actions.claim(conn, spec.task_id, ALICE, now=datetime.now(UTC))
        await actions.complete(
            conn, spec.task_id, ALICE, {"decision": "acknowledge", "reason": "r"}, now=datetime.now(UTC)
        )
    assert await deliver_pending(engine, client) == 1
    async with engine.connect() as conn:
        task = await store.load(conn, spec.task_id)
    assert task["signal_pending"] is False and "not found" in task["signal_error"]
