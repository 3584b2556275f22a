"""The appeal review on the time-skipping server: the real AppealReviewWorkflow and its real child
HumanTaskWorkflow; the casework, evaluation and appeal activities are fakes under their real names
on their real queues. The review's weeks pass in milliseconds."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.appeal.deadline import review_working_days
from services.common.lawdates import local_date, start_of_day
from services.common.policy import policy_for
from services.common.temporal import APPEAL_ACTIVITIES, CASEWORK_ACTIVITIES, EVALUATION_ACTIVITIES
from services.common.workdays import add_working_days
from tests.support.factories import evidence, new_uscc
from tests.workflows.saved import save_history
from workflows.activity_names import (
    CANCEL_TASK,
    CORRECT_RECORD,
    ESCALATE_TASK,
    GET_RECORD_FACTS,
    MARK_APPEALED,
    OPEN_TASK,
    RECORD_APPEAL_CHANGE,
    UPHOLD_RECORD,
)
from workflows.appeal.inputs import AppealChange, AppealResult, AppealReviewInput, appeal_workflow_id, review_task_id
from workflows.appeal.workflow import AppealReviewWorkflow
from workflows.human_task.inputs import (
    TaskAlarm,
    TaskAlarmFired,
    TaskClosed,
    TaskDecision,
    TaskPlan,
    TaskSpec,
    task_workflow_id,
)
from workflows.human_task.workflow import HumanTaskWorkflow
from workflows.record_inputs import AppealMark, AppealResolution, RecordChangeResult, RecordFacts, RecordRef

HISTORY_V1 = Path(__file__).parent / "histories" / "appeal_v1.json"
COUNTY, CITY = "410322", "410300"
RECORDER = "officer-a"


class Fakes:
    """What the workflow asked of each service. `refuse_first` makes the first correction refused,
    as the evaluation service refuses a serious code without a determination."""

    def __init__(self, *, record_status: str = "in_force", refuse_first: bool = False) -> None:
        self.record_status = record_status
        self.refuse_first = refuse_first
        self.marks: list[AppealMark] = []
        self.resolutions: list[tuple[str, AppealResolution]] = []
        self.specs: list[TaskSpec] = []
        self.plans: list[TaskPlan] = []
        self.fired: list[tuple[TaskAlarm, datetime]] = []
        self.closed: list[TaskClosed] = []
        self.changes: list[AppealChange] = []

    # --- evaluation-activities ---
    @activity.defn(name=MARK_APPEALED)
    async def mark_appealed(self, mark: AppealMark) -> RecordChangeResult:
        if self.record_status != "in_force":  # as the evaluation service answers
            return RecordChangeResult(applied=False, record_id=mark.record_id, version=2, status=self.record_status)
        self.marks.append(mark)
        return RecordChangeResult(applied=True, record_id=mark.record_id, version=2, status="in_force")

    @activity.defn(name=GET_RECORD_FACTS)
    async def get_record_facts(self, ref: RecordRef) -> RecordFacts:
        return RecordFacts(
            record_id=ref.record_id,
            version=2,
            status=self.record_status,
            severity="serious",
            behaviour_code="SUP-S-03",
            subject={"type": "supplier", "id": "S", "name": "洛阳某某科技有限公司"},
            region=COUNTY,
            recorded_on=local_date(activity.info().current_attempt_scheduled_time),
            valid_until=local_date(activity.info().current_attempt_scheduled_time) + timedelta(days=730),
            recorded_by=RECORDER,
            open_appeal_id=self.marks[-1].appeal_id if self.marks else None,
        )

    @activity.defn(name=CORRECT_RECORD)
    async def correct_record(self, resolution: AppealResolution) -> RecordChangeResult:
        if self.refuse_first and not self.resolutions:
            self.resolutions.append(("refused", resolution))
            raise ApplicationError("SUP-S-01 is serious: a determination is required", non_retryable=True)
        self.resolutions.append(("correct_record", resolution))
        status = "in_force" if resolution.corrections else "withdrawn"
        return RecordChangeResult(applied=True, record_id=resolution.record_id, version=3, status=status)

    @activity.defn(name=UPHOLD_RECORD)
    async def uphold_record(self, resolution: AppealResolution) -> RecordChangeResult:
        self.resolutions.append(("uphold_record", resolution))
        return RecordChangeResult(applied=True, record_id=resolution.record_id, version=3, status="in_force")

    # --- casework-activities: calendar days here; working days are the casework service's tests ---
    @activity.defn(name=OPEN_TASK)
    async def open_task(self, spec: TaskSpec) -> TaskPlan:
        self.specs.append(spec)
        opened_on = local_date(activity.info().current_attempt_scheduled_time)
        due_on = opened_on + timedelta(days=spec.due_working_days)
        alarms = [
            TaskAlarm(
                kind="reminder",
                level=0,
                at=start_of_day(due_on - timedelta(days=spec.reminder_working_days_before)),
                to_region=spec.region,
            )
        ] + [
            TaskAlarm(
                kind="escalation",
                level=i + 1,
                at=start_of_day(due_on + timedelta(days=1 + n)),
                to_region=spec.region if i == 0 else CITY,
            )
            for i, n in enumerate(spec.escalation_working_days_after)
        ]
        plan = TaskPlan(task_id=spec.task_id, opened_on=opened_on, due_on=due_on, alarms=alarms)
        self.plans.append(plan)
        return plan

    @activity.defn(name=ESCALATE_TASK)
    async def escalate_task(self, fired: TaskAlarmFired) -> None:
        self.fired.append((fired.alarm, activity.info().current_attempt_scheduled_time))

    @activity.defn(name=CANCEL_TASK)
    async def cancel_task(self, closed: TaskClosed) -> None:
        self.closed.append(closed)

    # --- appeal-activities ---
    @activity.defn(name=RECORD_APPEAL_CHANGE)
    async def record_appeal_change(self, change: AppealChange) -> None:
        self.changes.append(change)

    def states(self) -> list[str]:
        return [c.state for c in self.changes]


@asynccontextmanager
async def workers(
    env: WorkflowEnvironment, fakes: Fakes, casework: Sequence[Callable[..., Any]] = ()
) -> AsyncIterator[str]:
    """The appeal's workers on a queue of their own; `casework`: other casework activities than the
    fakes' open, escalate and cancel."""
    queue = f"wf-{uuid.uuid4()}"
    async with (
        Worker(env.client, task_queue=queue, workflows=[AppealReviewWorkflow, HumanTaskWorkflow]),
        Worker(
            env.client,
            task_queue=EVALUATION_ACTIVITIES,
            activities=[fakes.mark_appealed, fakes.get_record_facts, fakes.correct_record, fakes.uphold_record],
        ),
        Worker(
            env.client,
            task_queue=CASEWORK_ACTIVITIES,
            activities=list(casework) or [fakes.open_task, fakes.escalate_task, fakes.cancel_task],
        ),
        Worker(env.client, task_queue=APPEAL_ACTIVITIES, activities=[fakes.record_appeal_change]),
    ):
        yield queue


async def start(env: WorkflowEnvironment, queue: str) -> tuple[WorkflowHandle, AppealReviewInput]:
    """As the appeal service's start command does, with the durations of Luoyang's policy."""
    filed_at = await env.get_current_time()
    policy = policy_for(COUNTY, local_date(filed_at))
    supplier = new_uscc()
    inp = AppealReviewInput(
        appeal_id=f"apl-{uuid.uuid4()}",
        record_id=f"rec-{uuid.uuid4()}",
        region=COUNTY,
        subject={"type": "supplier", "id": supplier, "name": "洛阳某某科技有限公司"},
        applicant={"type": "supplier", "id": supplier, "name": "洛阳某某科技有限公司"},
        grounds="处罚决定已被撤销，见行政复议决定书",
        evidence=evidence(2),
        filed_at=filed_at,
        due_working_days=review_working_days(policy.clocks["appeal_review"], local_date(filed_at))[0],
        reminder_working_days_before=policy.tasks.reminder_working_days_before,
        escalation_working_days_after=list(policy.tasks.escalation_working_days_after),
    )
    handle = await env.client.start_workflow(
        AppealReviewWorkflow.run, inp, id=appeal_workflow_id(inp.appeal_id), task_queue=queue
    )
    return handle, inp


async def until(check: Callable[[], bool], what: str) -> None:
    """Wait (real time; the server skips no time meanwhile) until the workflow got that far."""
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def decide(env: WorkflowEnvironment, task_id: str, decision: str, reason: str, **fields: object) -> None:
    """What the casework service signals once the officer's decision is stored."""
    await env.client.get_workflow_handle(task_workflow_id(task_id)).signal(
        HumanTaskWorkflow.decide,
        TaskDecision(
            task_id=task_id,
            decision=decision,
            reason=reason,
            fields=fields,
            decided_by="officer-b",
            decided_by_org=COUNTY,
            decided_at=await env.get_current_time(),
        ),
    )


async def test_correct_without_fields_withdraws_the_record(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    async with workers(env, fakes) as queue:
        handle, inp = await start(env, queue)
        await until(lambda: len(fakes.specs) == 1, "the review task opened")
        (mark,) = fakes.marks
        assert (mark.record_id, mark.appeal_id, mark.applicant) == (inp.record_id, inp.appeal_id, inp.applicant)
        spec = fakes.specs[0]
        assert (spec.task_id, spec.kind, spec.region, spec.record_id) == (
            review_task_id(inp.appeal_id, 1),
            "appeal_review",
            COUNTY,
            inp.record_id,
        )
        # The working days before the 20-day legal deadline (征信业管理条例 Art. 25, issue 16 point 11),
        # reminder/escalation from policy.tasks, the recorder excluded.
        assert (spec.due_working_days, spec.reminder_working_days_before, spec.escalation_working_days_after) == (
            inp.due_working_days,
            1,
            [0, 3],
        )
        assert add_working_days(local_date(inp.filed_at), spec.due_working_days) <= local_date(
            inp.filed_at
        ) + timedelta(days=20)
        assert spec.excluded_officers == [RECORDER]
        assert spec.context["grounds"] == inp.grounds and spec.context["evidence"] == inp.evidence
        assert spec.priority < 50 and spec.parent_workflow_id == appeal_workflow_id(inp.appeal_id)
        # Two working days later the reviewer decides: the record was wrong, withdraw it.
        await env.sleep(timedelta(days=2))
        await decide(env, spec.task_id, "correct", "行政处罚决定已被依法撤销")
        result: AppealResult = await handle.result()
        history = await handle.fetch_history()
    assert (result.state, result.decision, result.record_status, result.rounds) == (
        "corrected",
        "correct",
        "withdrawn",
        1,
    )
    ((activity_name, resolution),) = fakes.resolutions
    assert (activity_name, resolution.corrections, resolution.decided_by) == ("correct_record", {}, "officer-b")
    assert resolution.reason == "行政处罚决定已被依法撤销"
    assert fakes.states() == ["under_review", "corrected"] and [c.version for c in fakes.changes] == [2, 3]
    assert fakes.changes[-1].reason == "行政处罚决定已被依法撤销" and fakes.changes[-1].record_status == "withdrawn"
    assert fakes.fired == []  # decided well before the reminder
    save_history("appeal_v1", history)


async def test_correct_with_another_code_keeps_only_the_correctable_fields(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    async with workers(env, fakes) as queue:
        handle, _ = await start(env, queue)
        await until(lambda: len(fakes.specs) == 1, "the review task opened")
        await decide(env, fakes.specs[0].task_id, "correct", "应为一般失信", behaviour_code="SUP-G-02", status="x")
        result: AppealResult = await handle.result()
    assert (result.state, result.record_status) == ("corrected", "in_force")
    assert fakes.resolutions[0][1].corrections == {"behaviour_code": "SUP-G-02"}
    assert fakes.changes[-1].fields == {"behaviour_code": "SUP-G-02"}


async def test_uphold(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    async with workers(env, fakes) as queue:
        handle, _ = await start(env, queue)
        await until(lambda: len(fakes.specs) == 1, "the review task opened")
        await decide(env, fakes.specs[0].task_id, "uphold", "所附材料不能证明记录有误")
        result: AppealResult = await handle.result()
        history = await handle.fetch_history()
    assert (result.state, result.decision, result.record_status) == ("upheld", "uphold", "in_force")
    assert [(name, r.corrections) for name, r in fakes.resolutions] == [("uphold_record", {})]
    assert fakes.states() == ["under_review", "upheld"]
    assert fakes.changes[-1].reason == "所附材料不能证明记录有误"
    save_history("appeal_uphold_v1", history)


async def test_review_past_its_due_date_reminds_then_escalates(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes()
    async with workers(env, fakes) as queue:
        handle, _ = await start(env, queue)
        await until(lambda: len(fakes.plans) == 1, "the review task opened")
        plan = fakes.plans[0]
        reminder, first, second = sorted(plan.alarms, key=lambda a: a.at)
        # To an hour before the reminder: nothing has fired.
        await env.sleep(reminder.at - await env.get_current_time() - timedelta(hours=1))
        assert fakes.fired == []
        # Past the reminder, the day before the due date.
        await env.sleep(timedelta(hours=2))
        await until(lambda: len(fakes.fired) == 1, "the reminder")
        # Past the due date: the supervisor of the county hears of it.
        await env.sleep(first.at - await env.get_current_time() + timedelta(hours=1))
        await until(lambda: len(fakes.fired) == 2, "the first escalation")
        # Three working days later still undecided: one region up, the city.
        await env.sleep(second.at - await env.get_current_time() + timedelta(hours=1))
        await until(lambda: len(fakes.fired) == 3, "the second escalation")
        for (alarm, fired_at), planned in zip(fakes.fired, (reminder, first, second), strict=True):
            assert alarm == planned and planned.at <= fired_at < planned.at + timedelta(minutes=1)
        assert [(a.kind, a.level, a.to_region) for a, _ in fakes.fired] == [
            ("reminder", 0, COUNTY),
            ("escalation", 1, COUNTY),
            ("escalation", 2, CITY),
        ]
        assert fakes.states() == ["under_review"]  # escalation does not decide for anyone
        # Late, but decided: the appeal ends; nothing more fires.
        await decide(env, plan.task_id, "uphold", "记录无误")
        result: AppealResult = await handle.result()
        history = await handle.fetch_history()
    assert result.state == "upheld" and len(fakes.fired) == 3
    save_history("appeal_escalated_v1", history)


async def test_a_refused_correction_opens_another_round(time_skipping: WorkflowEnvironment) -> None:
    env, fakes = time_skipping, Fakes(refuse_first=True)
    async with workers(env, fakes) as queue:
        handle, inp = await start(env, queue)
        await until(lambda: len(fakes.specs) == 1, "the review task opened")
        await decide(env, fakes.specs[0].task_id, "correct", "改为严重失信", behaviour_code="SUP-S-01")
        await until(lambda: len(fakes.specs) == 2, "a second review task")
        second = fakes.specs[1]
        assert second.task_id == review_task_id(inp.appeal_id, 2)
        assert "determination is required" in second.context["previous_round"]
        assert fakes.changes[-1].state == "under_review" and "refused" in fakes.changes[-1].note
        await decide(env, second.task_id, "uphold", "维持原记录")
        result: AppealResult = await handle.result()
        history = await handle.fetch_history()
    assert (result.state, result.rounds) == ("upheld", 2)
    assert [name for name, _ in fakes.resolutions] == ["refused", "uphold_record"]
    save_history("appeal_second_round_v1", history)


async def test_a_record_out_of_force_before_review_closes_the_appeal_without_a_task(
    time_skipping: WorkflowEnvironment,
) -> None:
    env, fakes = time_skipping, Fakes(record_status="expired")
    async with workers(env, fakes) as queue:
        handle, _ = await start(env, queue)
        result: AppealResult = await handle.result()
        history = await handle.fetch_history()
    assert (result.state, result.rounds) == ("closed", 0)
    assert fakes.specs == [] and fakes.states() == ["closed"] and fakes.changes[0].note == "the record is expired"
    save_history("appeal_closed_v1", history)
