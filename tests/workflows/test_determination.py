"""DeterminationWorkflow on the time-skipping server: the officer's decision on the child task is
applied by the evaluation service (`apply_determination`), a cancelled task applies nothing; since
issue 16 point 5 a `determine` lists only after the listing_confirmation task (the officer's confirm,
or the policy's statement window passing with no statement), and `withdraw` lists nothing. The
casework and evaluation activities are fakes under their real names."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from services.common.policy import policy_for
from services.common.temporal import CASEWORK_ACTIVITIES, EVALUATION_ACTIVITIES
from tests.workflows.saved import save_history
from workflows.activity_names import (
    APPLY_DETERMINATION,
    CANCEL_TASK,
    CLOSE_STATEMENT_WINDOW,
    ESCALATE_TASK,
    NOTE_INTENDED_DETERMINATION,
    OPEN_TASK,
)
from workflows.determination.inputs import (
    DeterminationInput,
    DeterminationRequest,
    DeterminationResult,
    determination_workflow_id,
)
from workflows.determination.workflow import DeterminationWorkflow
from workflows.human_task.inputs import TaskAlarmFired, TaskCancel, TaskClosed, TaskDecision, TaskPlan, TaskSpec
from workflows.human_task.workflow import HumanTaskWorkflow
from workflows.record_inputs import DeterminationApplied, DeterminationIntended, RecordChangeResult

HISTORY_V1 = Path(__file__).parent / "histories" / "determination_v1.json"


class Fakes:
    def __init__(self) -> None:
        self.specs: list[TaskSpec] = []
        self.applied: list[DeterminationApplied] = []
        self.closed: list[TaskClosed] = []
        self.statement_filed = False
        self.windows_closed: list[str] = []
        self.intended: list[DeterminationIntended] = []

    @activity.defn(name=OPEN_TASK)
    async def open_task(self, spec: TaskSpec) -> TaskPlan:
        # No alarms: this test is about the decision's way to the records, not about dates.
        self.specs.append(spec)
        return TaskPlan(task_id=spec.task_id, opened_on=date(2026, 12, 1), due_on=date(2026, 12, 15), alarms=[])

    @activity.defn(name=ESCALATE_TASK)
    async def escalate_task(self, fired: TaskAlarmFired) -> None:
        raise AssertionError("no alarm was planned")

    @activity.defn(name=CANCEL_TASK)
    async def cancel_task(self, closed: TaskClosed) -> None:
        self.closed.append(closed)

    @activity.defn(name=CLOSE_STATEMENT_WINDOW)
    async def close_statement_window(self, task_id: str) -> bool:
        self.windows_closed.append(task_id)
        return self.statement_filed

    @activity.defn(name=NOTE_INTENDED_DETERMINATION)
    async def note_intended_determination(self, noted: DeterminationIntended) -> bool:
        self.intended.append(noted)
        return True

    @activity.defn(name=APPLY_DETERMINATION)
    async def apply_determination(self, applied: DeterminationApplied) -> RecordChangeResult:
        self.applied.append(applied)
        return RecordChangeResult(applied=True, record_id="rec-1", version=1, status="in_force")


def request_input(request_id: str, *, statement_window_days: int | None = None) -> DeterminationInput:
    policy = policy_for("410322", date(2026, 12, 1))
    return DeterminationInput(
        request=DeterminationRequest(
            request_id=request_id,
            region="410322",
            subject={"type": "supplier", "id": "91410300MA0000002X", "name": "洛阳某某科技有限公司"},
            behaviour_code="SUP-S-03",
            behaviour={"code": "SUP-S-03", "severity": "serious"},
            reporter={"type": "purchaser", "id": "12410300MB00000011", "name": "采购人"},
            occurred_on=date(2026, 11, 25),
            evidence_count=1,
            reported_at=datetime(2026, 11, 30, 2, tzinfo=UTC),
        ),
        due_working_days=policy.determination_working_days,
        reminder_working_days_before=policy.tasks.reminder_working_days_before,
        escalation_working_days_after=policy.tasks.escalation_working_days_after,
        statement_window_days=statement_window_days,
    )


async def until_opened(fakes: Fakes, n: int = 1) -> TaskSpec:
    for _ in range(200):
        if len(fakes.specs) >= n:
            return fakes.specs[n - 1]
        await asyncio.sleep(0.05)
    raise AssertionError("the task was never opened")


def workers(env: WorkflowEnvironment, fakes: Fakes, queue: str):  # type: ignore[no-untyped-def]
    return (
        Worker(env.client, task_queue=queue, workflows=[DeterminationWorkflow, HumanTaskWorkflow]),
        Worker(
            env.client,
            task_queue=CASEWORK_ACTIVITIES,
            activities=[fakes.open_task, fakes.escalate_task, fakes.cancel_task, fakes.close_statement_window],
        ),
        Worker(
            env.client,
            task_queue=EVALUATION_ACTIVITIES,
            activities=[fakes.apply_determination, fakes.note_intended_determination],
        ),
    )


DETERMINATION = {
    "decision_no": "洛财购处〔2026〕7号",
    "decided_on": "2026-12-01",
    "liability_ends_on": "2028-12-01",
    "penalty": "禁止参加政府采购活动一年",
}


async def decide(
    env: WorkflowEnvironment, task_id: str, decision: str, reason: str, fields: dict | None = None
) -> None:
    await env.client.get_workflow_handle(f"task:{task_id}").signal(
        HumanTaskWorkflow.decide,
        TaskDecision(
            task_id=task_id,
            decision=decision,
            reason=reason,
            fields=fields or {},
            decided_by="alice",
            decided_by_org="410322",
            decided_at=await env.get_current_time(),
        ),
    )


async def determined(env: WorkflowEnvironment, fakes: Fakes, queue: str, inp: DeterminationInput):  # type: ignore[no-untyped-def]
    """Start, determine, and return the handle with the listing_confirmation task open."""
    request_id = inp.request.request_id
    handle = await env.client.start_workflow(
        DeterminationWorkflow.run, inp, id=determination_workflow_id(request_id), task_queue=queue
    )
    await until_opened(fakes)
    await decide(env, request_id, "determine", "查证属实", {"determination": DETERMINATION})
    listing = await until_opened(fakes, 2)
    return handle, listing


async def test_point5_a_serious_determination_lists_only_when_confirmed(time_skipping: WorkflowEnvironment) -> None:
    """Fails on the code before point 5: `determine` applied (listed) at once, no confirmation task."""
    env, fakes, queue = time_skipping, Fakes(), f"wf-{uuid.uuid4()}"
    request_id = f"task-{uuid.uuid4()}"
    wf, acts, evaluation = workers(env, fakes, queue)
    async with wf, acts, evaluation:
        handle, listing = await determined(env, fakes, queue, request_input(request_id))
        assert (listing.task_id, listing.kind, listing.region) == (
            f"{request_id}:listing",
            "listing_confirmation",
            "410322",
        )
        assert listing.context["intended"]["fields"] == {"determination": DETERMINATION}
        # Luoyang sets no statement window: nothing is due by time, the officer confirms.
        assert (listing.context["statement_window_days"], listing.context["statement_due"]) == (None, None)
        assert fakes.applied == []  # not listed at once
        # ... but in the subject's integrity archive as intended, before the listing task opened.
        (noted,) = fakes.intended
        assert (noted.intended.request_id, noted.intended.decision, noted.statement_due) == (
            request_id,
            "determine",
            None,
        )
        await decide(env, listing.task_id, "confirm", "陈述申辩理由不成立")
        result: DeterminationResult = await handle.result()
        history = await handle.fetch_history()
    (applied,) = fakes.applied
    assert (applied.request_id, applied.decision, applied.fields) == (
        request_id,
        "determine",
        {"determination": DETERMINATION},
    )
    assert result.decision == "determine" and result.change is not None and result.change.record_id == "rec-1"
    assert fakes.windows_closed == []
    save_history("determination_confirmed_v2", history)


async def test_point5_a_withdrawn_determination_never_lists(time_skipping: WorkflowEnvironment) -> None:
    env, fakes, queue = time_skipping, Fakes(), f"wf-{uuid.uuid4()}"
    request_id = f"task-{uuid.uuid4()}"
    wf, acts, evaluation = workers(env, fakes, queue)
    async with wf, acts, evaluation:
        handle, listing = await determined(env, fakes, queue, request_input(request_id))
        await decide(env, listing.task_id, "withdraw", "陈述申辩成立")
        result: DeterminationResult = await handle.result()
        history = await handle.fetch_history()
    (applied,) = fakes.applied
    assert (applied.decision, applied.reason) == ("withdraw", "陈述申辩成立")
    assert result.decision == "withdraw"
    save_history("determination_withdrawn_v2", history)


async def test_point5_the_window_passing_without_a_statement_lists(time_skipping: WorkflowEnvironment) -> None:
    env, fakes, queue = time_skipping, Fakes(), f"wf-{uuid.uuid4()}"
    request_id = f"task-{uuid.uuid4()}"
    wf, acts, evaluation = workers(env, fakes, queue)
    async with wf, acts, evaluation:
        handle, listing = await determined(env, fakes, queue, request_input(request_id, statement_window_days=5))
        assert listing.context["statement_window_days"] == 5 and listing.context["statement_due"]
        (noted,) = fakes.intended
        assert noted.statement_due is not None and noted.statement_due.isoformat() == listing.context["statement_due"]
        start = await env.get_current_time()
        result: DeterminationResult = await handle.result()  # the server skips the five days
        assert await env.get_current_time() - start >= timedelta(days=5)
        history = await handle.fetch_history()
    assert fakes.windows_closed == [listing.task_id]
    assert [(c.task_id, c.reason) for c in fakes.closed] == [(listing.task_id, "statement_window_passed")]
    (applied,) = fakes.applied
    assert (applied.decision, applied.fields) == ("determine", {"determination": DETERMINATION})
    assert result.decision == "determine"
    save_history("determination_window_passed_v2", history)


async def test_point5_a_statement_in_the_window_waits_for_the_officer(time_skipping: WorkflowEnvironment) -> None:
    env, fakes, queue = time_skipping, Fakes(), f"wf-{uuid.uuid4()}"
    fakes.statement_filed = True
    request_id = f"task-{uuid.uuid4()}"
    wf, acts, evaluation = workers(env, fakes, queue)
    async with wf, acts, evaluation:
        handle, listing = await determined(env, fakes, queue, request_input(request_id, statement_window_days=5))
        await env.sleep(timedelta(days=6))
        assert fakes.windows_closed == [listing.task_id]
        assert (fakes.applied, fakes.closed) == ([], [])  # the window passed, a statement is filed: the officer
        await decide(env, listing.task_id, "withdraw", "陈述申辩成立")
        result: DeterminationResult = await handle.result()
    assert [a.decision for a in fakes.applied] == ["withdraw"] and result.decision == "withdraw"


async def test_a_determination_is_applied_by_the_evaluation_service(time_skipping: WorkflowEnvironment) -> None:
    env, fakes, queue = time_skipping, Fakes(), f"wf-{uuid.uuid4()}"
    request_id = f"task-{uuid.uuid4()}"
    wf, acts, evaluation = workers(env, fakes, queue)
    async with wf, acts, evaluation:
        handle = await env.client.start_workflow(
            DeterminationWorkflow.run,
            request_input(request_id),
            id=determination_workflow_id(request_id),
            task_queue=queue,
        )
        spec = await until_opened(fakes)
        # The task is the request: same id, the region's finance department, policy durations.
        assert (spec.task_id, spec.kind, spec.region, spec.due_working_days) == (
            request_id,
            "determination",
            "410322",
            10,
        )
        assert spec.context["request"]["behaviour_code"] == "SUP-S-03"
        assert spec.parent_workflow_id == handle.id
        determination = {
            "decision_no": "洛财购处〔2026〕7号",
            "decided_on": "2026-12-01",
            "liability_ends_on": "2028-12-01",
            "penalty": "禁止参加政府采购活动一年",
        }
        now = await env.get_current_time()
        await env.client.get_workflow_handle(f"task:{request_id}").signal(
            HumanTaskWorkflow.decide,
            TaskDecision(
                task_id=request_id,
                decision="determine",
                reason="查证属实",
                fields={"determination": determination},
                decided_by="alice",
                decided_by_org="410322",
                decided_at=now,
            ),
        )
        # Issue 16 point 5: the listing waits for its confirmation.
        listing = await until_opened(fakes, 2)
        await decide(env, listing.task_id, "confirm", "未提出陈述申辩")
        result: DeterminationResult = await handle.result()
    (applied,) = fakes.applied
    assert (applied.request_id, applied.decision, applied.decided_by) == (request_id, "determine", "alice")
    assert applied.fields == {"determination": determination}
    assert result.decision == "determine" and result.change is not None and result.change.record_id == "rec-1"


async def test_a_cancelled_determination_task_applies_nothing(time_skipping: WorkflowEnvironment) -> None:
    env, fakes, queue = time_skipping, Fakes(), f"wf-{uuid.uuid4()}"
    request_id = f"task-{uuid.uuid4()}"
    wf, acts, evaluation = workers(env, fakes, queue)
    async with wf, acts, evaluation:
        handle = await env.client.start_workflow(
            DeterminationWorkflow.run,
            request_input(request_id),
            id=determination_workflow_id(request_id),
            task_queue=queue,
        )
        await until_opened(fakes)
        await env.client.get_workflow_handle(f"task:{request_id}").signal(
            HumanTaskWorkflow.cancel, TaskCancel(reason="reported twice")
        )
        result: DeterminationResult = await handle.result()
        history = await handle.fetch_history()
    assert (result.decision, result.cancelled_reason, fakes.applied) == (None, "reported twice", [])
    assert [c.task_id for c in fakes.closed] == [request_id]
    save_history("determination_cancelled_v1", history)
