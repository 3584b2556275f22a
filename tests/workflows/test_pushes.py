"""Pushes to a national platform on the time-skipping server: retried by Temporal until the platform
accepts; still failing after the policy's push_escalation_hours, a push_failure task is opened (a
child HumanTaskWorkflow) while the attempts go on; the officer's decision or a late success ends it.
The activities are fakes under their real names (publication and casework queues)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.lawdates import local_date
from services.common.policy import policy_for
from services.common.temporal import CASEWORK_ACTIVITIES, PUBLICATION_ACTIVITIES
from tests.workflows.casework_fakes import FakeCasework
from tests.workflows.saved import save_history
from workflows.activity_names import DELIVER_PUSH, ESCALATE_PUSH, SETTLE_PUSH
from workflows.human_task.inputs import TaskDecision, task_workflow_id
from workflows.human_task.workflow import HumanTaskWorkflow
from workflows.pushes.inputs import PushEscalated, PushInput, PushRef, PushResult, PushSettled, PushStatus
from workflows.pushes.workflow import PushWorkflow, push_workflow_id

HISTORIES = Path(__file__).parent / "histories"
REGION = "410322"


class FakePlatform(FakeCasework):
    """deliver_push fails while `up` is False or for the first `failures` attempts."""

    def __init__(self, *, failures: int = 0, up: bool = True) -> None:
        super().__init__()
        self.failures, self.up = failures, up
        self.attempts = 0
        self.delivered = 0
        self.escalations: list[str] = []
        self.settled: list[PushSettled] = []

    @activity.defn(name=DELIVER_PUSH)
    async def deliver(self, ref: PushRef) -> PushStatus:
        self.attempts += 1
        if not self.up or self.attempts <= self.failures:
            raise ApplicationError("HTTP 503")
        self.delivered += 1
        return PushStatus(idempotency_key=ref.idempotency_key, state="delivered", attempts=self.attempts)

    @activity.defn(name=ESCALATE_PUSH)
    async def escalate(self, esc: PushEscalated) -> PushStatus:
        self.escalations.append(esc.task_id)
        return PushStatus(
            idempotency_key=esc.idempotency_key, state="escalated", attempts=self.attempts, last_error="HTTP 503"
        )

    @activity.defn(name=SETTLE_PUSH)
    async def settle(self, settled: PushSettled) -> PushStatus:
        self.settled.append(settled)
        return PushStatus(idempotency_key=settled.idempotency_key, state=settled.state, attempts=self.attempts)


@asynccontextmanager
async def workers(env: WorkflowEnvironment, fake: FakePlatform) -> AsyncIterator[str]:
    queue = f"wf-{uuid.uuid4()}"
    async with (
        Worker(env.client, task_queue=queue, workflows=[PushWorkflow, HumanTaskWorkflow]),
        Worker(env.client, task_queue=PUBLICATION_ACTIVITIES, activities=[fake.deliver, fake.escalate, fake.settle]),
        Worker(
            env.client,
            task_queue=CASEWORK_ACTIVITIES,
            activities=fake.activities(),
        ),
    ):
        yield queue


def push_input(key: str) -> PushInput:
    policy = policy_for(REGION, local_date(datetime.now(UTC)))
    return PushInput(
        idempotency_key=key,
        platform="procurement",
        action="publish",
        region=REGION,
        notice_id=f"blacklist-{key}",
        record_id="rec-1",
        subject={"type": "supplier", "id": "91410300MA0000002X", "name": "洛阳某某科技有限公司"},
        escalation_seconds=policy.publication.push_escalation_hours * 3600,
        task_due_working_days=1,
        reminder_working_days_before=policy.tasks.reminder_working_days_before,
        escalation_working_days_after=policy.tasks.escalation_working_days_after,
    )


async def start(env: WorkflowEnvironment, queue: str) -> tuple[WorkflowHandle, str]:
    key = f"procurement:rec-{uuid.uuid4().hex[:8]}:v1"
    handle = await env.client.start_workflow(
        PushWorkflow.run, push_input(key), id=push_workflow_id(key), task_queue=queue
    )
    return handle, key


async def until(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Real time (no skipping) until the workflow has done what the test waits for."""
    for _ in range(200):
        value = check()
        if value if isinstance(value, bool) else await value:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def result(env: WorkflowEnvironment, handle: WorkflowHandle) -> PushResult:
    # Awaiting a result lets the server skip to the next timer it knows of; nothing is left to wait for.
    with env.auto_time_skipping_disabled():
        return await handle.result()


async def test_push_is_retried_until_the_platform_accepts(time_skipping: WorkflowEnvironment) -> None:
    env = time_skipping
    fake = FakePlatform(failures=3)
    async with workers(env, fake) as queue:
        handle, _ = await start(env, queue)
        # The backoff (1 s, 2 s, 4 s) passes on the server's clock.
        await env.sleep(timedelta(seconds=10))
        outcome = await result(env, handle)
        history = await handle.fetch_history()
    assert (outcome.state, outcome.rounds) == ("delivered", 1)
    assert (fake.attempts, fake.delivered, fake.escalations, fake.tasks) == (4, 1, [], [])
    save_history("pushes_retried_v1", history)


async def test_push_failing_past_the_escalation_opens_a_task_acknowledged_by_an_officer(
    time_skipping: WorkflowEnvironment,
) -> None:
    env = time_skipping
    fake = FakePlatform(up=False)
    async with workers(env, fake) as queue:
        handle, key = await start(env, queue)
        hours = policy_for(REGION, local_date(datetime.now(UTC))).publication.push_escalation_hours
        # One hour short of the escalation: still only retrying.
        await env.sleep(timedelta(hours=hours - 1))
        assert fake.escalations == [] and fake.attempts > 5
        # Past it: escalated, and a push_failure task in the record's region.
        await env.sleep(timedelta(hours=2))
        await until(lambda: bool(fake.tasks), "the task to open")
        (spec,) = fake.tasks
        assert (spec.kind, spec.region, spec.record_id, spec.task_id) == (
            "push_failure",
            REGION,
            "rec-1",
            f"push:{key}:r1",
        )
        assert spec.context["last_error"] == "HTTP 503" and spec.context["attempts"] > 5
        assert fake.escalations == [spec.task_id]
        # The officer acknowledges (dealt with by hand); the push ends so.
        task = env.client.get_workflow_handle(task_workflow_id(spec.task_id))
        await task.signal(HumanTaskWorkflow.decide, decision(spec.task_id, "acknowledge"))
        outcome = await result(env, handle)
        history = await handle.fetch_history()
    assert (outcome.state, outcome.rounds) == ("acknowledged", 1)
    assert [s.state for s in fake.settled] == ["acknowledged"] and fake.delivered == 0
    save_history("pushes_v1", history)


async def test_retry_decision_starts_a_new_round_and_a_late_success_cancels_its_task(
    time_skipping: WorkflowEnvironment,
) -> None:
    env = time_skipping
    fake = FakePlatform(up=False)
    hours = policy_for(REGION, local_date(datetime.now(UTC))).publication.push_escalation_hours
    async with workers(env, fake) as queue:
        handle, key = await start(env, queue)
        await env.sleep(timedelta(hours=hours + 1))
        await until(lambda: len(fake.tasks) == 1, "the first task")
        task = env.client.get_workflow_handle(task_workflow_id(fake.tasks[0].task_id))
        await task.signal(HumanTaskWorkflow.decide, decision(fake.tasks[0].task_id, "retry"))
        # A new round fails as long again: a second task.
        await env.sleep(timedelta(hours=hours + 1))
        await until(lambda: len(fake.tasks) == 2, "the second task")
        assert fake.tasks[1].task_id == f"push:{key}:r2"
        # The platform comes back while the task is open: delivered, and the task is cancelled.
        fake.up = True
        await env.sleep(timedelta(hours=2))
        outcome = await result(env, handle)
        history = await handle.fetch_history()
    assert (outcome.state, outcome.rounds) == ("delivered", 2)
    assert fake.cancelled == [f"push:{key}:r2"] and fake.delivered == 1
    save_history("pushes_new_round_v1", history)


def decision(task_id: str, choice: str) -> TaskDecision:
    return TaskDecision(
        task_id=task_id,
        decision=choice,
        reason="推送平台已人工补录",
        decided_by="officer-1",
        decided_by_org="410322",
        decided_at=datetime.now(UTC),
    )
