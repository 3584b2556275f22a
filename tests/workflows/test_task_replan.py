"""Re-planning on the time-skipping server (issue 12): an appeal filed on 2026-12-20 opens its review
task with a provisional due date in 2027 (no official arrangement: the provisional calendar of the
law); its alarms fire on provisional working days; an official arrangement is installed and the open
timers move; a later one that would bring the due date earlier leaves it where it was shown.

Both "official" arrangements here are TEST FIXTURES, NOT OFFICIAL DATA (the State Council had not
published the 2027 arrangement when this was written): A makes Monday 2027-01-04 a bridge day off;
B (a later version) instead makes Saturday 2027-01-09 a working day. The fakes plan with the real
planner on a reckoner of their own."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.casework.plan import plan_task, replan_task
from services.common.lawdates import SHANGHAI
from services.common.temporal import CASEWORK_ACTIVITIES
from services.common.workdays import Reckoner
from tests.support.calendars import fixture_arrangement
from tests.support.time_skipping import time_skipping_server
from tests.workflows.saved import save_history
from workflows.activity_names import ESCALATE_TASK, OPEN_TASK, REPLAN_TASK
from workflows.human_task.inputs import (
    TaskAlarmFired,
    TaskDecision,
    TaskPlan,
    TaskReplan,
    TaskReplanRequest,
    TaskSpec,
    task_workflow_id,
)
from workflows.human_task.workflow import HumanTaskWorkflow

FILED = datetime(2026, 12, 20, 10, 0, tzinfo=SHANGHAI)  # a Sunday


class FakeCasework:
    def __init__(self) -> None:
        self.reckoner = Reckoner()
        self.plans: list[TaskPlan] = []
        self.fired: list[tuple[int, bool, datetime]] = []  # level, provisional, when (Shanghai)
        self.replans: list[str] = []

    @activity.defn(name=OPEN_TASK)
    async def open_task(self, spec: TaskSpec) -> TaskPlan:
        plan = plan_task(spec, activity.info().scheduled_time, self.reckoner)
        self.plans.append(plan)
        return plan

    @activity.defn(name=ESCALATE_TASK)
    async def escalate_task(self, fired: TaskAlarmFired) -> None:
        when = activity.info().current_attempt_scheduled_time.astimezone(SHANGHAI)
        self.fired.append((fired.alarm.level, fired.alarm.provisional, when))

    @activity.defn(name=REPLAN_TASK)
    async def replan_task(self, req: TaskReplanRequest) -> TaskPlan:
        plan = replan_task(req.spec, req.plan, req.fired_levels, self.reckoner)
        self.plans.append(plan)
        self.replans.append(req.reason)
        return plan


@pytest.fixture
async def env(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WorkflowEnvironment]:
    monkeypatch.delenv("CREDIT_CALENDAR_DIR", raising=False)  # 2027 has no data: provisional
    async with time_skipping_server() as e:
        yield e


def local(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=SHANGHAI)


async def sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    await env.sleep(moment - await env.get_current_time())


async def until(probe, what: str) -> None:  # type: ignore[no-untyped-def]
    """Wait (real time) for the workflow to run what a timer or a signal released."""
    for _ in range(200):
        if probe():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what)


async def plan_when(handle: WorkflowHandle, kept, what: str):  # type: ignore[no-untyped-def]
    """The workflow's plan once `kept(plan)`: the re-plan activity has answered when the fakes saw
    it, but the workflow stores its result on its next task (real time, like `until`)."""
    for _ in range(200):
        plan = await handle.query(HumanTaskWorkflow.get_plan)
        if kept(plan):
            return plan
        await asyncio.sleep(0.05)
    raise AssertionError(what)


async def file_appeal(env: WorkflowEnvironment, fakes: FakeCasework, queue: str) -> WorkflowHandle:
    await sleep_until(env, FILED)
    spec = TaskSpec(
        task_id=f"task-{uuid.uuid4()}",
        kind="appeal_review",
        region="410322",
        title="异议复核",
        subject={"type": "supplier", "id": "91410300MA0000002X", "name": "洛阳某某科技有限公司"},
        due_working_days=15,  # Luoyang policy: appeal review
        escalation_working_days_after=[0, 3],
    )
    handle = await env.client.start_workflow(
        HumanTaskWorkflow.run, spec, id=task_workflow_id(spec.task_id), task_queue=queue
    )
    await until(lambda: fakes.plans, "open_task never ran")
    return handle


async def test_a_provisional_plan_fires_then_moves_when_the_arrangement_is_installed_never_earlier(
    env: WorkflowEnvironment,
) -> None:
    fakes, queue = FakeCasework(), f"wf-{uuid.uuid4()}"
    activities = [fakes.open_task, fakes.escalate_task, fakes.replan_task]
    async with (
        Worker(env.client, task_queue=queue, workflows=[HumanTaskWorkflow]),
        Worker(env.client, task_queue=CASEWORK_ACTIVITIES, activities=activities),
    ):
        handle = await file_appeal(env, fakes, queue)
        # Filed Sun 12-20: 12-21..25 (5), 28..31 (9), [01-01 元旦, by law], 01-04..08 (14), 01-11 (15).
        opened = fakes.plans[0]
        assert (opened.due_on, opened.due_provisional) == (date(2027, 1, 11), True)
        assert [(a.level, a.at, a.provisional) for a in opened.alarms] == [
            (0, local(date(2027, 1, 8), 9), True),
            (1, local(date(2027, 1, 12), 0), True),
            (2, local(date(2027, 1, 15), 0), True),
        ]

        # 12-28: fixture A installed, 01-04 off. Due 01-12; the reminder moves from 01-08 to 01-11.
        await sleep_until(env, local(date(2026, 12, 28), 10))
        fakes.reckoner.install(fixture_arrangement(1, off={date(2027, 1, 4)}))
        await handle.signal(HumanTaskWorkflow.replan, TaskReplan(year=2027, reason="2027 installed (fixture A)"))
        await until(lambda: len(fakes.plans) == 2, "no re-plan")
        moved = await plan_when(handle, lambda p: not p.due_provisional, "the re-plan was not kept")
        assert (moved.due_on, moved.due_provisional) == (date(2027, 1, 12), False)
        assert [(a.at, a.provisional) for a in moved.alarms] == [
            (local(date(2027, 1, 11), 9), False),
            (local(date(2027, 1, 13), 0), False),
            (local(date(2027, 1, 16), 0), False),
        ]
        # The old reminder moment passes in silence; the new one fires.
        await sleep_until(env, local(date(2027, 1, 10), 12))
        assert fakes.fired == []

        # 01-10: fixture B (a later version) makes Saturday 01-09 a working day and 01-04 a working
        # day again: counted afresh the due date would be 01-09. It was shown as 01-12: it stays.
        fakes.reckoner.install(fixture_arrangement(2, work={date(2027, 1, 9)}))
        await handle.signal(HumanTaskWorkflow.replan, TaskReplan(year=2027, reason="2027 corrected (fixture B)"))
        await until(lambda: len(fakes.plans) == 3, "no second re-plan")
        kept = await handle.query(HumanTaskWorkflow.get_plan)
        assert kept.due_on == date(2027, 1, 12) and [a.at for a in kept.alarms] == [a.at for a in moved.alarms]

        await sleep_until(env, local(date(2027, 1, 11), 9, 1))
        await until(lambda: len(fakes.fired) == 1, "no reminder")
        await sleep_until(env, local(date(2027, 1, 13), 0, 1))
        await until(lambda: len(fakes.fired) == 2, "no escalation")
        assert [(level, prov, when.date()) for level, prov, when in fakes.fired] == [
            (0, False, date(2027, 1, 11)),
            (1, False, date(2027, 1, 13)),
        ]
        task_id = handle.id.removeprefix("task:")
        now = await env.get_current_time()
        await handle.signal(
            HumanTaskWorkflow.decide,
            TaskDecision(
                task_id=task_id,
                decision="uphold",
                reason="维持",
                decided_by="bob",
                decided_by_org="410300",
                decided_at=now.astimezone(UTC),
            ),
        )
        await handle.result()
        history = await handle.fetch_history()
    assert fakes.replans == ["2027 installed (fixture A)", "2027 corrected (fixture B)"]
    save_history("human_task_replanned_v1", history)


async def test_alarms_fire_on_provisional_working_days_and_a_fired_one_is_not_moved(
    env: WorkflowEnvironment,
) -> None:
    fakes, queue = FakeCasework(), f"wf-{uuid.uuid4()}"
    activities = [fakes.open_task, fakes.escalate_task, fakes.replan_task]
    async with (
        Worker(env.client, task_queue=queue, workflows=[HumanTaskWorkflow]),
        Worker(env.client, task_queue=CASEWORK_ACTIVITIES, activities=activities),
    ):
        handle = await file_appeal(env, fakes, queue)
        # Provisional: reminder 01-08 09:00, level 1 at 01-12 00:00 (late from the day after 01-11).
        await sleep_until(env, local(date(2027, 1, 12), 0, 1))
        await until(lambda: len(fakes.fired) == 2, "reminder and level 1 expected")
        assert [(lv, prov, when.date()) for lv, prov, when in fakes.fired] == [
            (0, True, date(2027, 1, 8)),
            (1, True, date(2027, 1, 12)),
        ]
        # Installed now, with 01-04 off: the due date moves to 01-12, level 2 to 01-16; what fired stays.
        fakes.reckoner.install(fixture_arrangement(1, off={date(2027, 1, 4)}))
        await handle.signal(HumanTaskWorkflow.replan, TaskReplan(year=2027, reason="2027 installed"))
        await until(lambda: len(fakes.plans) == 2, "no re-plan")
        plan = await plan_when(handle, lambda p: p.due_on != date(2027, 1, 11), "the re-plan was not kept")
        assert plan.due_on == date(2027, 1, 12)
        assert [(a.level, a.at) for a in plan.alarms] == [
            (0, local(date(2027, 1, 8), 9)),
            (1, local(date(2027, 1, 12), 0)),
            (2, local(date(2027, 1, 16), 0)),
        ]
        await sleep_until(env, local(date(2027, 1, 15), 12))
        assert len(fakes.fired) == 2  # the old level-2 moment (01-15 00:00) passed in silence
        await sleep_until(env, local(date(2027, 1, 16), 0, 1))
        await until(lambda: len(fakes.fired) == 3, "level 2 expected")
        assert fakes.fired[2][0] == 2 and fakes.fired[2][2].date() == date(2027, 1, 16)
        assert await handle.query(HumanTaskWorkflow.get_fired_levels) == [0, 1, 2]
