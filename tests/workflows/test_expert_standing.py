"""Expert suspension, removal and reinstatement on the time-skipping server: a year passes in
milliseconds. The activities are fakes under their real names on EVALUATION_ACTIVITIES."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.lawdates import add_months, expiry_moment, local_date
from services.common.policy import ScoreRules, policy_for
from services.common.temporal import EVALUATION_ACTIVITIES
from tests.workflows.saved import save_history
from workflows.activity_names import NOTIFY_EMPLOYER, PUBLISH_EXPERT_STANDING
from workflows.expert_standing.inputs import (
    EmployerNotice,
    ExpertRecordChange,
    ExpertStanding,
    ExpertStandingInput,
    StandingChanged,
    TrainingCompleted,
)
from workflows.expert_standing.workflow import ExpertStandingWorkflow, expert_workflow_id

LUOYANG = "410300"


class FakeActivities:
    """Records what the workflow sends; `notify_failures` first attempts of notify_employer fail."""

    def __init__(self, notify_failures: int = 0) -> None:
        self.published: list[StandingChanged] = []  # those announced on credit.experts
        self.stored: list[StandingChanged] = []  # every new standing version
        self.notices: list[EmployerNotice] = []
        self.notify_attempts = 0
        self.notify_failures = notify_failures

    @activity.defn(name=PUBLISH_EXPERT_STANDING)
    async def publish(self, changed: StandingChanged) -> None:
        self.stored.append(changed)
        if changed.event is not None:
            self.published.append(changed)

    @activity.defn(name=NOTIFY_EMPLOYER)
    async def notify(self, notice: EmployerNotice) -> None:
        self.notify_attempts += 1
        if self.notify_attempts <= self.notify_failures:
            raise RuntimeError("employer's mail gateway unavailable")
        self.notices.append(notice)

    def events(self) -> list[tuple[str, date | None]]:
        return [(p.event, p.standing.suspended_until) for p in self.published]


@asynccontextmanager
async def workers(env: WorkflowEnvironment, fakes: FakeActivities) -> AsyncIterator[str]:
    queue = f"wf-{uuid.uuid4()}"
    async with (
        Worker(env.client, task_queue=queue, workflows=[ExpertStandingWorkflow]),
        Worker(env.client, task_queue=EVALUATION_ACTIVITIES, activities=[fakes.publish, fakes.notify]),
    ):
        yield queue


# A labelled test regime: Luoyang sets none (Art. 25 only) and the Shenyang draft gives no points.
TEST_SCORE = ScoreRules(
    source="TEST FIXTURE: points for the workflow tests, not any region's",
    start=100,
    threshold=60,
    deductions={f"EXP-G-{n:02d}": 10 for n in range(1, 15)},
    training_restores_to=60,
)


def expert_input(expert_id: str, today: date, **overrides: object) -> ExpertStandingInput:
    rules = policy_for(LUOYANG, today).expert
    values = {
        "expert_id": expert_id,
        "expert_name": "张三",
        "region": LUOYANG,
        "suspension_months": rules.general_suspension_months,
        "score": TEST_SCORE,
    }
    return ExpertStandingInput.model_validate(values | overrides)


def record(record_id: str, recorded_on: date, *, version: int = 1, **fields: str) -> ExpertRecordChange:
    values = {
        "record_id": record_id,
        "version": version,
        "severity": "general",
        "behaviour_code": "EXP-G-03",
        "recorded_on": recorded_on,
        "status": "in_force",
    }
    return ExpertRecordChange.model_validate(values | fields)


async def start(env: WorkflowEnvironment, queue: str, first: ExpertRecordChange, **overrides: object) -> WorkflowHandle:
    """Signal-with-start, as the evaluation service does when a record about the expert arrives."""
    expert_id = f"E-{uuid.uuid4().hex[:12]}"
    today = local_date(await env.get_current_time())
    return await env.client.start_workflow(
        ExpertStandingWorkflow.run,
        expert_input(expert_id, today, **overrides),
        id=expert_workflow_id(expert_id),
        task_queue=queue,
        start_signal="record_changed",
        start_signal_args=[first],
    )


async def standing(handle: WorkflowHandle) -> ExpertStanding:
    return await handle.query(ExpertStandingWorkflow.get_standing)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait (real time, no skipping) until the workflow has handled what was just sent."""
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


def _open(kinds: list[str], what: str) -> int:
    """How many of `what` (workflow or activity tasks) were scheduled and have not ended."""
    ended = ("COMPLETED", "FAILED", "TIMED_OUT", "CANCELED")
    return kinds.count(f"EVENT_TYPE_{what}_TASK_SCHEDULED") - sum(
        kinds.count(f"EVENT_TYPE_{what}_TASK_{end}") for end in ended
    )


async def settled(handle: WorkflowHandle) -> None:
    """Wait until the workflow has nothing in flight: no workflow task and no activity scheduled
    and not ended. Whatever it would ever do for the signals it has had is then done, so an
    absence can be asserted (a condition, not a guess at how long is enough)."""

    async def check() -> bool:
        kinds = [EventType.Name(e.event_type) for e in (await handle.fetch_history()).events]
        return _open(kinds, "WORKFLOW") == 0 and _open(kinds, "ACTIVITY") == 0

    await eventually(check, "the workflow settled")


async def published(fakes: FakeActivities, count: int) -> None:
    async def check() -> bool:
        return len(fakes.published) >= count

    await eventually(check, f"{count} publications")


async def standing_is(handle: WorkflowHandle, predicate: Callable[[ExpertStanding], bool], what: str) -> None:
    async def check() -> bool:
        return predicate(await standing(handle))

    await eventually(check, what)


async def today_of(env: WorkflowEnvironment) -> date:
    return local_date(await env.get_current_time())


# --- (a) ----------------------------------------------------------------------------------------------


async def test_general_record_suspends_for_a_year_then_reinstates(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, FakeActivities()
    t0 = await env.get_current_time()
    day = local_date(t0)
    until = add_months(day, 12)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record("R-A", day))
        await published(fakes, 1)
        s = await standing(handle)
        assert (s.status, s.suspended_until, s.score) == ("suspended", until, 90)
        assert [(r.kind, r.record_id, r.until) for r in s.reasons] == [("general_record", "R-A", until)]
        assert s.score_history[0].change == -10
        # Jump to the last hour of the anniversary (Asia/Shanghai): still not drawable.
        await env.sleep(expiry_moment(until) - t0 - timedelta(hours=1))
        s = await standing(handle)
        assert (s.status, s.suspended_until) == ("suspended", until)
        # Two hours on it is the day after: the timer fired at local midnight and reinstated him.
        await env.sleep(timedelta(hours=2))
        await published(fakes, 2)
        s = await standing(handle)
        assert (s.status, s.suspended_until, s.reasons, s.score) == ("drawable", None, [], 90)
        assert fakes.events() == [("expert.suspended.v1", until), ("expert.reinstated.v1", None)]
        assert [p.standing.version for p in fakes.published] == [1, 2]
        (notice,) = fakes.notices
        assert (notice.record_id, notice.suspended_until) == ("R-A", until)
        assert notice.idempotency_key == f"{s.expert_id}:R-A:v1"
        history = await handle.fetch_history()
        await handle.terminate("test done")
    save_history("expert_standing_v1", history)


# --- (b) ----------------------------------------------------------------------------------------------


async def test_overlapping_general_records_extend_the_suspension(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, FakeActivities()
    t0 = await env.get_current_time()
    first_until = add_months(local_date(t0), 12)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record("R-1", local_date(t0)))
        await published(fakes, 1)
        # 100 days later a second general record: the suspension now runs a year from it.
        await env.sleep(timedelta(days=100))
        t1 = await env.get_current_time()
        second_until = add_months(local_date(t1), 12)
        await handle.signal(ExpertStandingWorkflow.record_changed, record("R-2", local_date(t1)))
        await published(fakes, 2)
        assert fakes.events() == [("expert.suspended.v1", first_until), ("expert.suspended.v1", second_until)]
        # Past the first record's year: that reason lapsed, the later one still holds him.
        await env.sleep(expiry_moment(first_until) - t1 + timedelta(hours=1))
        await standing_is(handle, lambda s: len(s.reasons) == 1, "first reason lapsed")
        s = await standing(handle)
        assert (s.status, s.suspended_until, s.score) == ("suspended", second_until, 80)
        assert len(fakes.published) == 2
        # Past the second record's year: reinstated.
        await env.sleep(expiry_moment(second_until) - await env.get_current_time() + timedelta(hours=1))
        await published(fakes, 3)
        assert fakes.events()[2] == ("expert.reinstated.v1", None)
        assert [n.record_id for n in fakes.notices] == ["R-1", "R-2"]
        await handle.terminate("test done")


# --- (c) ----------------------------------------------------------------------------------------------


async def test_score_under_threshold_suspends_until_training(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, FakeActivities()
    t0 = await env.get_current_time()
    day0 = local_date(t0)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record("R-1", day0))
        for rid in ("R-2", "R-3"):
            await handle.signal(ExpertStandingWorkflow.record_changed, record(rid, day0))
        await standing_is(handle, lambda s: s.score == 70, "three deductions")
        # 30 days later two more: 70 → 50, under 60.
        await env.sleep(timedelta(days=30))
        day30 = await today_of(env)
        for rid in ("R-4", "R-5"):
            await handle.signal(ExpertStandingWorkflow.record_changed, record(rid, day30))
        await standing_is(handle, lambda s: s.score == 50, "five deductions")
        s = await standing(handle)
        assert (s.status, s.suspended_until) == ("suspended", None)
        assert s.reasons[-1].kind == "low_score" and s.reasons[-1].until is None
        await published(fakes, 3)
        assert fakes.events() == [
            ("expert.suspended.v1", add_months(day0, 12)),
            ("expert.suspended.v1", add_months(day30, 12)),  # R-4 extends the end date ...
            ("expert.suspended.v1", None),  # ... R-5 makes it "until training"
        ]
        # Both one-year timers lapse: still suspended, only the score holds him now.
        await env.sleep(expiry_moment(add_months(day30, 12)) - t0 + timedelta(days=1))
        await standing_is(handle, lambda s: len(s.reasons) == 1, "both years over")
        s = await standing(handle)
        assert (s.status, [r.kind for r in s.reasons]) == ("suspended", ["low_score"])
        assert len(fakes.published) == 3
        # Training completed: the score goes back to the threshold and he is drawable again.
        training = TrainingCompleted(event_id="T-1", completed_on=await today_of(env), course="评审规则")
        await handle.signal(ExpertStandingWorkflow.training_completed, training)
        await published(fakes, 4)
        s = await standing(handle)
        assert (s.status, s.score, s.reasons) == ("drawable", 60, [])
        assert (s.score_history[-1].change, s.score_history[-1].score) == (10, 60)
        assert fakes.events()[3] == ("expert.reinstated.v1", None)
        # On probation: the next general record suspends again, for the year and by the score.
        await handle.signal(ExpertStandingWorkflow.record_changed, record("R-6", await today_of(env)))
        await published(fakes, 5)
        s = await standing(handle)
        assert (s.status, s.suspended_until, s.score) == ("suspended", None, 50)
        history = await handle.fetch_history()
        await handle.terminate("test done")
    save_history("expert_standing_training_v1", history)


# --- (d) ----------------------------------------------------------------------------------------------


async def test_serious_record_removes_for_good(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, FakeActivities()
    day = await today_of(env)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record("R-S", day, severity="serious", behaviour_code="EXP-S-02"))
        await published(fakes, 1)
        s = await standing(handle)
        assert (s.status, s.suspended_until, s.score) == ("removed", None, 100)
        # Two years on, and the record expired meanwhile: still removed (final).
        await env.sleep(timedelta(days=730))
        expired = record("R-S", day, version=2, severity="serious", behaviour_code="EXP-S-02", status="expired")
        await handle.signal(ExpertStandingWorkflow.record_changed, expired)
        await standing_is(handle, lambda s: s.version == 1 and s.status == "removed", "expiry handled")
        assert fakes.events() == [("expert.removed.v1", None)]
        assert fakes.notices == []
        history = await handle.fetch_history()
        await handle.terminate("test done")
    save_history("expert_standing_removed_v1", history)


# --- (e) ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["corrected", "withdrawn"])
async def test_correction_or_withdrawal_reinstates_at_once(time_skipping: WorkflowEnvironment, status: str) -> None:
    env, fakes = time_skipping, FakeActivities()
    day = await today_of(env)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record("R-1", day))
        await published(fakes, 1)
        # Ten days later the record turns out wrong.
        await env.sleep(timedelta(days=10))
        await handle.signal(ExpertStandingWorkflow.record_changed, record("R-1", day, version=2, status=status))
        await published(fakes, 2)
        s = await standing(handle)
        assert (s.status, s.reasons, s.score) == ("drawable", [], 100)
        assert [e.change for e in s.score_history] == [-10, 10]
        assert fakes.events() == [("expert.suspended.v1", add_months(day, 12)), ("expert.reinstated.v1", None)]
        history = await handle.fetch_history()
        await handle.terminate("test done")
    if status == "withdrawn":
        save_history("expert_standing_withdrawn_v1", history)


async def test_point8_repair_ends_the_suspension_and_gives_the_points_back(time_skipping: WorkflowEnvironment) -> None:
    # Issue 16 point 8: a record no longer in force no longer deducts (it did before).
    env, fakes = time_skipping, FakeActivities()
    day = await today_of(env)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record("R-1", day))
        await published(fakes, 1)
        await env.sleep(timedelta(days=200))
        await handle.signal(ExpertStandingWorkflow.record_changed, record("R-1", day, version=2, status="repaired"))
        await published(fakes, 2)
        s = await standing(handle)
        assert (s.status, s.score) == ("drawable", 100)
        await handle.terminate("test done")


async def test_point8_luoyang_applies_article_25_only(time_skipping: WorkflowEnvironment) -> None:
    """Issue 16 point 8: Luoyang's policy sets no score regime (the 100/60 score is the Shenyang draft's,
    000 §三.3): five general records suspend for the year (Art. 25), no score, no "until training"."""
    assert policy_for(LUOYANG, date(2026, 12, 7)).expert.score is None
    env, fakes = time_skipping, FakeActivities()
    day = await today_of(env)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record("R-1", day), score=None)
        for rid in ("R-2", "R-3", "R-4", "R-5"):
            await handle.signal(ExpertStandingWorkflow.record_changed, record(rid, day))
        await standing_is(handle, lambda s: len(s.reasons) == 5, "five general records")
        s = await standing(handle)
        assert (s.status, s.suspended_until, s.score) == ("suspended", add_months(day, 12), None)
        assert "low_score" not in {r.kind for r in s.reasons}
        history = await handle.fetch_history()
        await handle.terminate("test done")
    save_history("expert_standing_v2", history)


async def test_correction_to_general_turns_removal_into_suspension(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, FakeActivities()
    day = await today_of(env)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record("R-1", day, severity="serious", behaviour_code="EXP-S-02"))
        await published(fakes, 1)
        corrected = record("R-1", day, version=2, status="corrected", behaviour_code_after="EXP-G-05")
        await handle.signal(ExpertStandingWorkflow.record_changed, corrected)
        await published(fakes, 2)
        s = await standing(handle)
        assert (s.status, s.suspended_until, s.score) == ("suspended", add_months(day, 12), 90)
        assert fakes.events()[1][0] == "expert.suspended.v1"
        assert [(n.behaviour_code, n.idempotency_key.endswith(":R-1:v2")) for n in fakes.notices] == [
            ("EXP-G-05", True)
        ]
        await handle.terminate("test done")


# --- (f) ----------------------------------------------------------------------------------------------


async def test_the_same_signal_twice_changes_nothing(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, FakeActivities()
    day = await today_of(env)
    async with workers(env, fakes) as queue:
        first = record("R-1", day)
        handle = await start(env, queue, first)
        await handle.signal(ExpertStandingWorkflow.record_changed, first)  # redelivered
        # A second, different record the same day, so we know the repeat before it was handled.
        await handle.signal(ExpertStandingWorkflow.record_changed, record("R-2", day))
        await standing_is(handle, lambda s: len(s.reasons) == 2, "R-2 handled")
        await settled(handle)  # a wrongly repeated notice would have been sent by now
        s = await standing(handle)
        assert (s.score, len(s.score_history)) == (80, 2)
        assert [n.record_id for n in fakes.notices] == ["R-1", "R-2"]
        assert len(fakes.published) == 1
        await handle.terminate("test done")


# --- (g) ----------------------------------------------------------------------------------------------


async def test_employer_notice_is_retried_until_it_succeeds(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, FakeActivities(notify_failures=2)
    day = await today_of(env)
    async with workers(env, fakes) as queue:
        handle = await start(env, queue, record("R-1", day))
        await published(fakes, 1)
        # The retries back off 1 s, then 2 s: in real time, which the poll below (10 s) covers.
        # Skipping it (env.sleep) failed once on a clean CI run with the test server's "Timeout
        # expired" while the retrying activity held its clock.

        async def delivered() -> bool:
            return len(fakes.notices) == 1

        await eventually(delivered, "the notice delivered on the third attempt")
        assert fakes.notify_attempts == 3
        s = await standing(handle)
        assert (s.status, s.score, s.version) == ("suspended", 90, 1)
        # The workflow carries on: a withdrawal still reinstates.
        await handle.signal(ExpertStandingWorkflow.record_changed, record("R-1", day, version=2, status="withdrawn"))
        await published(fakes, 2)
        assert fakes.events()[1] == ("expert.reinstated.v1", None)
        await handle.terminate("test done")


# --- continue-as-new -------------------------------------------------------------------------------


async def test_state_is_carried_over_continue_as_new(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, FakeActivities()
    day = await today_of(env)
    expert_id = f"E-{uuid.uuid4().hex[:12]}"
    async with workers(env, fakes) as queue:
        first = await env.client.start_workflow(
            ExpertStandingWorkflow.run,
            expert_input(expert_id, day, rounds_before_continue=2),
            id=expert_workflow_id(expert_id),
            task_queue=queue,
            start_signal="record_changed",
            start_signal_args=[record("R-1", day)],
        )
        # Signal-with-start hands back no run id; the first run cannot have continued yet (1 signal).
        first_run = (await first.describe()).run_id
        await first.signal(ExpertStandingWorkflow.record_changed, record("R-2", day))
        latest = env.client.get_workflow_handle(expert_workflow_id(expert_id))

        runs = [first_run]

        async def continued() -> bool:
            run_id = (await latest.describe()).run_id
            if run_id in runs:
                return False
            runs.append(run_id)
            return True

        # Query only once a run is up: the test server may drop a query sent while a run continues.
        await eventually(continued, "a second run")
        s = await standing(latest)
        assert (s.status, s.score, len(s.reasons)) == ("suspended", 80, 2)
        # In the second run a repeat is still recognised; its 2 signals make it continue again.
        await latest.signal(ExpertStandingWorkflow.record_changed, record("R-1", day))
        await latest.signal(ExpertStandingWorkflow.record_changed, record("R-1", day, version=2, status="withdrawn"))
        await eventually(continued, "a third run")
        s = await standing(latest)
        assert (s.status, s.score, [r.record_id for r in s.reasons]) == ("suspended", 90, ["R-2"])
        assert len(fakes.notices) == 2 and len(fakes.published) == 1
        history = await env.client.get_workflow_handle(expert_workflow_id(expert_id), run_id=first_run).fetch_history()
        await latest.terminate("test done")
    save_history("expert_standing_continued_v1", history)


# --- (h) ----------------------------------------------------------------------------------------------
