"""HumanTaskWorkflow on the time-skipping server: the reminder and the escalations fire on the
right working day across a holiday with 调休, and a decision or a cancellation stops them.

The server starts at the real current time, and chinese-calendar has no data past 2026; the
calendar of 2027 here is a TEST FIXTURE (tests/fixtures/calendars/2027.json, not official data) that
mirrors the 2026 National Day pattern: 10-01..07 off, Sunday 09-26 and Saturday 10-09 working days.
The casework activities are fakes under their real names; `open_task` plans with the real planner
from the moment Temporal scheduled it, so the dates are the service's own."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.casework.plan import plan_task
from services.common.lawdates import SHANGHAI
from services.common.temporal import CASEWORK_ACTIVITIES
from tests.support.time_skipping import time_skipping_server
from tests.workflows.saved import save_history
from workflows.activity_names import CANCEL_TASK, ESCALATE_TASK, OPEN_TASK
from workflows.human_task.inputs import (
    TaskAlarmFired,
    TaskCancel,
    TaskClosed,
    TaskDecision,
    TaskOutcome,
    TaskPlan,
    TaskSpec,
    task_workflow_id,
)
from workflows.human_task.workflow import HumanTaskWorkflow

ROOT = Path(__file__).resolve().parents[2]
OPENED = datetime(2027, 9, 24, 10, 0, tzinfo=SHANGHAI)  # Friday before the (fixture) National Day


class FakeCasework:
    def __init__(self) -> None:
        self.plans: list[TaskPlan] = []
        self.fired: list[tuple[str, int, str, datetime]] = []  # kind, level, to_region, when (Shanghai)
        self.closed: list[TaskClosed] = []

    @activity.defn(name=OPEN_TASK)
    async def open_task(self, spec: TaskSpec) -> TaskPlan:
        plan = plan_task(spec, activity.info().scheduled_time)
        self.plans.append(plan)
        return plan

    @activity.defn(name=ESCALATE_TASK)
    async def escalate_task(self, fired: TaskAlarmFired) -> None:
        when = activity.info().current_attempt_scheduled_time.astimezone(SHANGHAI)
        self.fired.append((fired.alarm.kind, fired.alarm.level, fired.alarm.to_region, when))

    @activity.defn(name=CANCEL_TASK)
    async def cancel_task(self, closed: TaskClosed) -> None:
        self.closed.append(closed)


@pytest.fixture
async def env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEnvironment]:
    """A server of its own: these tests move the clock to a given day, which a shared server may be past."""
    monkeypatch.setenv("CREDIT_CALENDAR_DIR", str(ROOT / "tests" / "fixtures" / "calendars"))
    async with time_skipping_server() as e:
        yield e


def spec(task_id: str) -> TaskSpec:
    return TaskSpec(
        task_id=task_id,
        kind="determination",
        region="410322",  # a county of Luoyang
        title="严重失信行为认定",
        subject={"type": "supplier", "id": "91410300MA0000002X", "name": "洛阳某某科技有限公司"},
        due_working_days=10,
        reminder_working_days_before=1,
        escalation_working_days_after=[0, 3],
    )


async def sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    await env.sleep(moment - await env.get_current_time())


def local(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=SHANGHAI)


async def fired_count(fakes: FakeCasework, n: int) -> None:
    """Wait (real time) until the workflow has run what the timers released."""
    for _ in range(200):
        if len(fakes.fired) >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{n} alarms expected, fired: {fakes.fired}")


async def start(env: WorkflowEnvironment, fakes: FakeCasework, queue: str) -> WorkflowHandle:
    await sleep_until(env, OPENED)
    task_id = f"task-{uuid.uuid4()}"
    handle = await env.client.start_workflow(
        HumanTaskWorkflow.run, spec(task_id), id=task_workflow_id(task_id), task_queue=queue
    )
    for _ in range(200):
        if fakes.plans:
            return handle
        await asyncio.sleep(0.05)
    raise AssertionError("open_task never ran")


def decision(task_id: str, at: datetime, by: str = "alice") -> TaskDecision:
    return TaskDecision(
        task_id=task_id,
        decision="dismiss",
        reason="证据不足",
        decided_by=by,
        decided_by_org="410322",
        decided_at=at.astimezone(UTC),
    )


async def test_reminder_and_escalations_fire_on_their_working_days_across_national_day(
    env: WorkflowEnvironment,
) -> None:
    fakes, queue = FakeCasework(), f"wf-{uuid.uuid4()}"
    activities = [fakes.open_task, fakes.escalate_task, fakes.cancel_task]
    async with (
        Worker(env.client, task_queue=queue, workflows=[HumanTaskWorkflow]),
        Worker(env.client, task_queue=CASEWORK_ACTIVITIES, activities=activities),
    ):
        handle = await start(env, fakes, queue)
        # Opened Fri 09-24: working days 09-26 (Sunday, 调休), 27, 28, 29, 30, [10-01..07 off],
        # 10-08, 10-09 (Saturday, 调休), 11, 12, 13 -> the last day to decide is Wed 10-13.
        assert fakes.plans[0].due_on == date(2027, 10, 13)
        await sleep_until(env, local(date(2027, 10, 12), 8, 59))
        assert fakes.fired == []
        # The reminder: 09:00 of the working day before the due date.
        await sleep_until(env, local(date(2027, 10, 12), 9, 1))
        await fired_count(fakes, 1)
        assert fakes.fired[0][:3] == ("reminder", 0, "410322")
        assert fakes.fired[0][3].date() == date(2027, 10, 12) and fakes.fired[0][3].hour == 9
        # Still in time through 10-13; late from 10-14 00:00: level 1, the county's supervisor.
        await sleep_until(env, local(date(2027, 10, 13), 23, 59))
        assert len(fakes.fired) == 1
        await sleep_until(env, local(date(2027, 10, 14), 0, 1))
        await fired_count(fakes, 2)
        assert fakes.fired[1][:3] == ("escalation", 1, "410322")
        assert fakes.fired[1][3].date() == date(2027, 10, 14)
        # Three working days late (10-14, 15, 18; the weekend does not count): level 2, the city.
        await sleep_until(env, local(date(2027, 10, 18), 23, 59))
        assert len(fakes.fired) == 2
        await sleep_until(env, local(date(2027, 10, 19), 0, 1))
        await fired_count(fakes, 3)
        assert fakes.fired[2][:3] == ("escalation", 2, "410300")
        assert fakes.fired[2][3].date() == date(2027, 10, 19)
        assert await handle.query(HumanTaskWorkflow.get_fired_levels) == [0, 1, 2]
        # Decided late all the same: the outcome goes back to the parent.
        task_id = handle.id.removeprefix("task:")
        await handle.signal(HumanTaskWorkflow.decide, decision(task_id, await env.get_current_time()))
        outcome: TaskOutcome = await handle.result()
        history = await handle.fetch_history()
    assert outcome.decision is not None and outcome.decision.decision == "dismiss"
    save_history("human_task_v1", history)


async def test_a_decision_before_the_due_date_cancels_every_alarm(env: WorkflowEnvironment) -> None:
    fakes, queue = FakeCasework(), f"wf-{uuid.uuid4()}"
    async with (
        Worker(env.client, task_queue=queue, workflows=[HumanTaskWorkflow]),
        Worker(env.client, task_queue=CASEWORK_ACTIVITIES, activities=[fakes.open_task, fakes.escalate_task]),
    ):
        handle = await start(env, fakes, queue)
        await sleep_until(env, local(date(2027, 9, 28), 15))
        task_id, now = handle.id.removeprefix("task:"), await env.get_current_time()
        # A decision for another task is not this task's; after the first, a second changes nothing.
        await handle.signal(HumanTaskWorkflow.decide, decision("task-other", now, by="mallory"))
        await handle.signal(HumanTaskWorkflow.decide, decision(task_id, now))
        await handle.signal(HumanTaskWorkflow.decide, decision(task_id, now, by="bob"))
        outcome: TaskOutcome = await handle.result()
        history = await handle.fetch_history()
        await sleep_until(env, local(date(2027, 10, 25), 12))
    assert outcome.decision is not None and outcome.decision.decided_by == "alice"
    assert fakes.fired == []
    save_history("human_task_decided_v1", history)


async def test_a_cancelled_task_is_closed_and_fires_nothing_more(env: WorkflowEnvironment) -> None:
    fakes, queue = FakeCasework(), f"wf-{uuid.uuid4()}"
    activities = [fakes.open_task, fakes.escalate_task, fakes.cancel_task]
    async with (
        Worker(env.client, task_queue=queue, workflows=[HumanTaskWorkflow]),
        Worker(env.client, task_queue=CASEWORK_ACTIVITIES, activities=activities),
    ):
        handle = await start(env, fakes, queue)
        await sleep_until(env, local(date(2027, 10, 12), 10))
        await fired_count(fakes, 1)  # the reminder
        await handle.signal(HumanTaskWorkflow.cancel, TaskCancel(reason="record corrected"))
        outcome: TaskOutcome = await handle.result()
        history = await handle.fetch_history()
        await sleep_until(env, local(date(2027, 10, 25), 12))
    assert (outcome.decision, outcome.cancelled_reason) == (None, "record corrected")
    assert [c.reason for c in fakes.closed] == ["record corrected"]
    assert [f[0] for f in fakes.fired] == ["reminder"]
    save_history("human_task_cancelled_v1", history)
